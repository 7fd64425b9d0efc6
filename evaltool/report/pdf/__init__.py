"""The report as PDF/A-3b: one isolated WeasyPrint render, split in parts only for long reports.

- :mod:`~evaltool.report.pdf.render`: one render of one document in this process, with a URL
  fetcher confined to the output folder;
- :mod:`~evaltool.report.pdf.build`: which path renders the report (whole by default; in parts
  above a measured size, falling back to the whole render on any failure to join);
- :mod:`~evaltool.report.pdf.split` and :mod:`~evaltool.report.pdf.join`: the parts and their
  join (the only place pikepdf is used);
- :mod:`~evaltool.report.pdf.isolate` and :mod:`~evaltool.report.pdf.worker`: the rendering
  processes and their memory, CPU and wall-clock limits.
"""

from evaltool.report.pdf.build import render_pdf, render_report
from evaltool.report.pdf.isolate import IsolatedRenderer, RenderLimits, render_pdf_isolated
from evaltool.report.pdf.render import PdfAttachment, allowed_file, confined_fetcher

__all__ = ["IsolatedRenderer", "PdfAttachment", "RenderLimits", "allowed_file",
           "confined_fetcher", "render_pdf", "render_pdf_isolated", "render_report"]
