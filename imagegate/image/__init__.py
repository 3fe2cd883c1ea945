"""Bytes → what a viewer sees: decoding with every limit, the other renderings a viewer may get
(transparency, colour profiles, embedded pictures), metadata, and the paths people drop.

Imports the vocabulary only (codes, results, errors, filenames); nothing of vision, register or policy.
"""
