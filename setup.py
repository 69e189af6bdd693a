"""Build of caspr's one C extension; every other setting is in pyproject.toml.

``caspr.custody._merkle`` (the proof-of-liabilities hot loops, OpenSSL SHA-256 in threads)
is optional: where it cannot be compiled (no C compiler, no OpenSSL headers) the install
goes on and caspr uses its pure-Python path, which computes the same bytes, slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "caspr.custody._merkle",
            sources=["src/caspr/custody/_merkle.c"],
            libraries=["crypto"],
            extra_compile_args=["-O3", "-pthread", "-Wall"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
