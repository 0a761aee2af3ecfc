"""Imagine media: images, image edits and video jobs, stored where clients can open them."""
