"""Pixels → faces, descriptors and measurements: the detector networks, the ensemble that finds every
face, dlib's descriptor, the nearest-person search and how large each face is published.

Imports the vocabulary only; nothing of register or policy (a gallery is a results type).
"""
