"""Datasets, image decoding, landmark-aware transforms, splits and the decode-once cache."""

from faceattr.data.cache import CachedDataset, DecodedCache
from faceattr.data.celeba import LANDMARK_NAMES, CelebA, CelebAIndex, load_celeba_index
from faceattr.data.errors import AnnotationError, DataError, DatasetNotFoundError, ImageDecodeError
from faceattr.data.images import load_rgb, to_rgb
from faceattr.data.info import describe_root
from faceattr.data.mtfl import MTFL, load_mtfl_index

__all__ = [
    "LANDMARK_NAMES",
    "MTFL",
    "AnnotationError",
    "CachedDataset",
    "CelebA",
    "CelebAIndex",
    "DataError",
    "DatasetNotFoundError",
    "DecodedCache",
    "ImageDecodeError",
    "describe_root",
    "load_celeba_index",
    "load_mtfl_index",
    "load_rgb",
    "to_rgb",
]
