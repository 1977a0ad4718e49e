"""Virtual fingers for the simulated EF01 module: synthetic prints, captures, minutiae, matcher.

Pure numpy / scipy / scikit-image; no I/O, no threads.  The only path from a finger to a
decision is image -> :func:`extract_template` -> template bytes -> matcher: nothing else about
the finger reaches the extractor or the matcher.
"""

from ._errors import FingerImageError, MergeError
from ._extract import extract_template
from ._matcher import best_match, match_score, merge_templates, threshold_for_level
from ._render import render_capture
from ._template import is_template

__all__ = [
    "FingerImageError",
    "MergeError",
    "render_capture",
    "extract_template",
    "merge_templates",
    "match_score",
    "best_match",
    "threshold_for_level",
    "is_template",
]
