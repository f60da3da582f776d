"""Internal foundations shared by every layer (no public names of its own beyond re-exports).

Lives here: the exceptions (:mod:`.errors`), argument validation
(:mod:`.validation`), the result base and the one JSON policy
(:mod:`.results`), array/torch interop (:mod:`.interop`) and the BLAS thread
policy (:mod:`.threads`).

May import: numpy and the standard library only.  Every other subpackage may
import from here; the names here are the documented internal API.
"""
