"""The consent gate's checks over a built site, with no Pelican in them: sniffing each
file's kind, reading pages, CSS, feeds, SVG, fonts and PDFs for the pictures they show,
re-encoding passed pictures, the rendered-page check, the manifest and the report.

``gate.run_gate`` runs them all; the ``consent_gate`` plugin connects it to Pelican.
"""
