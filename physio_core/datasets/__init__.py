"""Readers that turn dataset files into canonical PoseSequences / sensor series (edge adapters)."""
