"""Model files shipped with imagegate (installed as the `imagegate_models` package).

See MANIFEST.json for provenance, licences and checksums.
"""
