"""Readers that turn files into canonical arrays (see data.schema)."""

from data.readers.bars import Bars, file_sha256, read_bars

__all__ = ["Bars", "file_sha256", "read_bars"]
