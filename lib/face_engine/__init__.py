"""The face engine: decode, detect, encode and match faces, and decide an image's verdict.

Plain Python (no Pelican, no SQLite): the consent registry hands it a ``RegistrySnapshot``
and the consent settings; the gate plugin and the publisher call ``decision``.
"""
