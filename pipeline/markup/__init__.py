"""Readers of the markup the `strip_html` stage removes: HTML, plain text, markdown."""
