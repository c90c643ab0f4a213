"""Reading the evidence with OCR: the text of a photo or a scanned PDF, for every channel.

Values in, values out: :func:`read_file` takes a file's bytes and type and returns an
:class:`OcrResult`; it never raises for a bad file (a decompression bomb, a broken image, a
missing ``tesseract``, a page over its time are a ``status`` and a ``note``). It runs
Tesseract through ``pytesseract`` and blocks: callers run it in a worker thread
(:mod:`cpd.claims.evidence_text`). It imports nothing of ours beyond this package.

Modules: ``results`` (limits and results), ``decode`` (bytes to bounded page images: photos,
HEIC, PDF pages with or without a text layer), ``orient`` (Tesseract's OSD for quarter turns,
a projection profile for small skews), ``reader`` (the pages through Tesseract).
"""

from cpd.claims.ocr.reader import read_file, readable
from cpd.claims.ocr.results import OcrLimits, OcrResult

__all__ = ["OcrLimits", "OcrResult", "read_file", "readable"]
