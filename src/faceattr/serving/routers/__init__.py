"""One ``APIRouter`` per module: ``analyze``, ``health`` and ``page``."""
