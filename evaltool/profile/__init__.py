"""Protection profiles, security targets, method libraries and evaluation inputs, checked.

The documents are read by :mod:`evaltool.io.profiles` (shape and ``line:column`` positions); this
package checks what a lab checks in a PP/ST evaluation (CC:2022 Part 3 / CEM, APE and ASE classes)
and derives what the profile says without running anything:

- :mod:`~evaltool.profile.validate`: references, traceability and dependencies (APE_OBJ.2,
  APE_REQ.2, APE_ECD.1);
- :mod:`~evaltool.profile.st`: the security target's assignment and selection values (ASE_REQ.2)
  and their substitution into parameters and element texts;
- :mod:`~evaltool.profile.library`: the ISO/IEC 23837-2 method library a profile names;
- :mod:`~evaltool.profile.evaluation`: attestations and waivers against the profile;
- :mod:`~evaltool.profile.coverage`: the automation ratio and the profile <-> library crosswalk.

Check kinds and their parameters are resolved against the registry by
:mod:`evaltool.checks.plan`, one layer up.
"""
