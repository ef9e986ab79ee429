"""The scenes endpoints' request and response models."""

from __future__ import annotations

from pydantic import BaseModel


class SceneOut(BaseModel):
    cid: str
    filename: str
    size: int
    kind: str
    frame_start: int
    frame_end: int
    width: int
    height: int
    fps: int
    camera: str | None
