"""Unit tests of the on-disk face cache."""

from __future__ import annotations

import numpy as np
from face_engine.cache import FaceCache
from face_engine.model import DetectedFace, FaceBox

SHA = "ab" * 32


def faces() -> list[DetectedFace]:
    return [
        DetectedFace(FaceBox(1, 50, 60, 2), "centerface", 0.9, np.linspace(-0.2, 0.2, 128)),
        DetectedFace(FaceBox(5, 15, 15, 5), "hog", 1.0, None),
    ]


def test_round_trip_keeps_boxes_and_encodings(tmp_path):
    cache = FaceCache(tmp_path, model_version="v1")
    cache.put(SHA, faces(), encoded=True)
    loaded = FaceCache(tmp_path, model_version="v1").get(SHA)
    assert [f.box for f in loaded] == [f.box for f in faces()]
    assert np.allclose(loaded[0].encoding, faces()[0].encoding)
    assert loaded[1].encoding is None
    # Written atomically: no temporary files are left behind.
    assert [p.name for p in cache.path_for(SHA).parent.iterdir()] == [f"{SHA}.json"]


def test_another_model_version_misses(tmp_path):
    FaceCache(tmp_path, model_version="v1").put(SHA, faces(), encoded=True)
    other = FaceCache(tmp_path, model_version="v2")
    assert other.get(SHA) is None
    assert other.misses == 1


def test_detection_only_entries_do_not_serve_recognition(tmp_path):
    cache = FaceCache(tmp_path, model_version="v1")
    cache.put(SHA, faces(), encoded=False)
    assert cache.get(SHA, need_encodings=True) is None
    assert len(cache.get(SHA, need_encodings=False)) == 2


def test_corrupt_entry_is_ignored_and_can_be_rewritten(tmp_path):
    cache = FaceCache(tmp_path, model_version="v1")
    cache.put(SHA, faces(), encoded=True)
    cache.path_for(SHA).write_text('{"format": 1, "faces": [tru')
    assert cache.get(SHA) is None
    cache.path_for(SHA).write_text("")
    assert cache.get(SHA) is None
    cache.put(SHA, faces(), encoded=True)
    assert len(cache.get(SHA)) == 2


def test_malformed_encoding_is_ignored(tmp_path):
    cache = FaceCache(tmp_path, model_version="v1")
    bad = faces()
    bad[0].encoding = np.ones(5)
    cache.put(SHA, bad, encoded=True)
    assert cache.get(SHA) is None
