# The binding's version; it follows the C API's ACORN_VERSION_* that it was written against.
__version__ = "0.1.0"
