"""course_lib: the helper library behind the course on how neural networks learn.

One module per idea; import what you need explicitly, e.g.::

    from course_lib.device import default_device, seed_everything
    from course_lib.optim import AdamW

Importing the package has no side effects (no plot styles, no seeds, no threads).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
