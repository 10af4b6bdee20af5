"""Pose backends and converters from each source's joint layout to the canonical skeleton."""
