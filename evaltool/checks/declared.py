"""Check kinds a profile may name whose implementation is not (yet) part of evaltool.

A declared kind validates in a profile and runs as *inconclusive: check not available*, never as a
pass. When an implementation registers under the same name it replaces the declaration.
"""

from __future__ import annotations

from evaltool.checks.registry import declare

_DECLARED: tuple[tuple[str, str, str], ...] = (
    ("sp800-22.battery", "NIST SP 800-22r1a §2, §4.2", "SP 800-22 battery on RNG output"),
    ("sp800-90b.min-entropy", "NIST SP 800-90B §3.1.5, §6.3", "assessed min-entropy >= claim"),
    ("sp800-90b.iid", "NIST SP 800-90B §5", "IID permutation testing"),
    ("sp800-90b.restart", "NIST SP 800-90B §3.1.4", "restart tests"),
    ("sp800-90b.health-tests", "NIST SP 800-90B §4.4", "continuous health tests cross-check"),
    ("protocol.key-length-bound", "Lim et al. PRA 89 022307 (2014) Eq. (1)",
     "final key length within the finite-key bound"),
    ("protocol.ec-leakage", "Martinez-Mateo et al. QIC 15 (2015)", "EC leakage fully reported"),
    ("protocol.verification-hash", "Lim et al. (2014) §II", "hash length >= log2(1/eps_cor)"),
    ("protocol.pa-output", "Leftover hash lemma", "PA output length and seed freshness"),
    ("protocol.auth", "Wegman-Carter (1981)", "tag length and key consumption"),
    ("protocol.abort-rule", "ETSI GS QKD 016 FPT_FLS.1", "blocks over threshold give no key"),
    ("leakage.tvla", "Schneider & Moradi (2015)", "no leakage of settings in emissions"),
    ("monitor.detector-blinding", "Lydersen et al. (2010)", "dark-count lower-tail test"),
    ("monitor.efficiency-mismatch", "Makarov et al. (2006)", "per-detector click balance"),
    ("monitor.trojan-horse", "Jain et al. NJP 16 123030 (2014)", "ingress power and abort"),
    ("monitor.decoy-consistency", "Lo, Ma, Chen PRL 94 230504 (2005)", "yields across classes"),
    ("monitor.pattern-effect", "Yoshino et al. npj QI (2018)", "intensity vs previous settings"),
    ("monitor.dead-time", "Weier et al. NJP 13 073024 (2011)", "common dead time enforced"),
    ("monitor.afterpulsing", "ISO/IEC 23837-2 detector tests", "inter-arrival excess"),
)

for _kind, _ref, _summary in _DECLARED:
    declare(_kind, ref=_ref, summary=_summary)
