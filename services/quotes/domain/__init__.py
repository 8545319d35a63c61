"""The quotes domain: pure Python, no framework imports."""
