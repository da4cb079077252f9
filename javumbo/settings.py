"""Javumbo's settings: one module, every deploy-specific value from the environment.

Each variable is read through a small typed helper that stops start-up with a
message naming the variable when its value is bad. The README lists them all.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _instance_id() -> str:
    return os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or f"local-{secrets.token_hex(4)}"


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])
ON_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ

# --- AWS -------------------------------------------------------------------
AWS_REGION = env_str("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL") or None
# Per-service endpoints (boto3's own variable names) win over AWS_ENDPOINT_URL, so S3
# and DynamoDB can be served by different local peers.
AWS_ENDPOINT_URLS = {
    "s3": os.environ.get("AWS_ENDPOINT_URL_S3") or AWS_ENDPOINT_URL,
    "dynamodb": os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or AWS_ENDPOINT_URL,
}
JAVUMBO_STAGE = env_str("JAVUMBO_STAGE", "dev")
JAVUMBO_RESOURCE_PREFIX = env_str("JAVUMBO_RESOURCE_PREFIX", f"javumbo-{JAVUMBO_STAGE}")
JAVUMBO_BUCKET = env_str("JAVUMBO_BUCKET", f"{JAVUMBO_RESOURCE_PREFIX}-collections")
JAVUMBO_TABLES = {
    name: env_str(f"JAVUMBO_{name.upper()}_TABLE", f"{JAVUMBO_RESOURCE_PREFIX}-{name}")
    for name in ("users", "sessions", "journal", "idempotency", "throttle")
}

# --- The storage engine ------------------------------------------------------
JAVUMBO_CACHE_DIR = Path(env_str("JAVUMBO_CACHE_DIR", "/tmp/javumbo-cache"))
JAVUMBO_INSTANCE_ID = env_str("JAVUMBO_INSTANCE_ID", _instance_id())
JAVUMBO_COMPACT_THRESHOLD = env_int("JAVUMBO_COMPACT_THRESHOLD", 50, minimum=1)
JAVUMBO_COMPACT_IDLE_SECONDS = env_int("JAVUMBO_COMPACT_IDLE_SECONDS", 300, minimum=0)
JAVUMBO_JOURNAL_RETRIES = env_int("JAVUMBO_JOURNAL_RETRIES", 3, minimum=1)
JAVUMBO_JOURNAL_SPILL_BYTES = env_int("JAVUMBO_JOURNAL_SPILL_BYTES", 300_000, minimum=1024)
JAVUMBO_FOLDED_ENTRY_TTL_SECONDS = env_int("JAVUMBO_FOLDED_ENTRY_TTL_SECONDS", 86_400, minimum=60)
JAVUMBO_SESSION_TTL_SECONDS = env_int("JAVUMBO_SESSION_TTL_SECONDS", 300, minimum=30)
JAVUMBO_CACHE_MAX_IDLE_SECONDS = env_int("JAVUMBO_CACHE_MAX_IDLE_SECONDS", 3600, minimum=0)
JAVUMBO_CACHE_MAX_BYTES = env_int("JAVUMBO_CACHE_MAX_BYTES", 1_500_000_000, minimum=0)

# --- Learners and tokens -----------------------------------------------------
JAVUMBO_BCRYPT_ROUNDS = env_int("JAVUMBO_BCRYPT_ROUNDS", 12, minimum=4)
JAVUMBO_FUZZ = env_bool("JAVUMBO_FUZZ", True)
JWT_ACCESS_MINUTES = env_int("JWT_ACCESS_MINUTES", 15, minimum=1)
JWT_REFRESH_DAYS = env_int("JWT_REFRESH_DAYS", 14, minimum=1)

# --- Account throttles (javumbo/throttling.py; docs/accounts.md) -----------------
# Fixed windows counted in the DynamoDB throttle table, so they hold across containers.
JAVUMBO_LOGIN_PER_ADDRESS = env_int("JAVUMBO_LOGIN_PER_ADDRESS", 30, minimum=1)
JAVUMBO_LOGIN_PER_USERNAME = env_int("JAVUMBO_LOGIN_PER_USERNAME", 10, minimum=1)
JAVUMBO_LOGIN_WINDOW_SECONDS = env_int("JAVUMBO_LOGIN_WINDOW_SECONDS", 300, minimum=1)
JAVUMBO_REGISTER_PER_ADDRESS = env_int("JAVUMBO_REGISTER_PER_ADDRESS", 5, minimum=1)
JAVUMBO_REGISTER_PER_USERNAME = env_int("JAVUMBO_REGISTER_PER_USERNAME", 10, minimum=1)
JAVUMBO_REGISTER_WINDOW_SECONDS = env_int("JAVUMBO_REGISTER_WINDOW_SECONDS", 3600, minimum=1)
# Behind API Gateway the caller's address is X-Forwarded-For's first entry.
JAVUMBO_TRUST_X_FORWARDED_FOR = env_bool("JAVUMBO_TRUST_X_FORWARDED_FOR", False)
# --- end of account throttles ----------------------------------------------------

# --- Operators' database durability (javumbo/operators_db.py; docs/operators.md) --------
# On Lambda the ``default`` SQLite file is each container's cache of one S3 object:
# fetched when stale, published before the response with conditional writes.
JAVUMBO_OPERATORS_DB_SYNC = env_bool("JAVUMBO_OPERATORS_DB_SYNC", ON_LAMBDA)
JAVUMBO_OPERATORS_DB_KEY = env_str("JAVUMBO_OPERATORS_DB_KEY", "operators/default.sqlite3")
JAVUMBO_OPERATORS_DB_RETRIES = env_int("JAVUMBO_OPERATORS_DB_RETRIES", 3, minimum=1)
# --- end of operators' database durability -------------------------------------------------

# --- Export and import (decks/exchange.py; docs/exchange.md) ------------------------------
MiB = 1024 * 1024
# A Lambda answer is at most 6 MB, and API Gateway carries a binary body base64-encoded
# (4 bytes per 3): a 4 MiB package is 5.33 MiB on the wire, leaving room for the headers.
# Larger exports are uploaded to S3 and answered with a presigned link instead.
JAVUMBO_EXPORT_INLINE_MAX_BYTES = env_int("JAVUMBO_EXPORT_INLINE_MAX_BYTES", 4 * MiB, minimum=0)
# How long a presigned export link (or staged-upload form) stays valid.
JAVUMBO_EXPORT_URL_SECONDS = env_int("JAVUMBO_EXPORT_URL_SECONDS", 900, minimum=60)
# The zip-bomb guard: the package itself, what it expands to, how many files it holds.
JAVUMBO_IMPORT_MAX_BYTES = env_int("JAVUMBO_IMPORT_MAX_BYTES", 100 * MiB, minimum=1024)
JAVUMBO_IMPORT_MAX_EXPANDED_BYTES = env_int(
    "JAVUMBO_IMPORT_MAX_EXPANDED_BYTES", 1024 * MiB, minimum=1024
)
JAVUMBO_IMPORT_MAX_ENTRIES = env_int("JAVUMBO_IMPORT_MAX_ENTRIES", 20_000, minimum=2)
# Each learner's media in S3: one file, all files together, how many.
JAVUMBO_MEDIA_MAX_FILE_BYTES = env_int("JAVUMBO_MEDIA_MAX_FILE_BYTES", 20 * MiB, minimum=1024)
JAVUMBO_MEDIA_MAX_TOTAL_BYTES = env_int("JAVUMBO_MEDIA_MAX_TOTAL_BYTES", 1024 * MiB, minimum=0)
JAVUMBO_MEDIA_MAX_FILES = env_int("JAVUMBO_MEDIA_MAX_FILES", 20_000, minimum=0)
# The storage engine reads a mutating request's body into memory (so that a retried view
# can read it again), and Django refuses to read more than DATA_UPLOAD_MAX_MEMORY_SIZE:
# an import must fit, with room for the multipart envelope. A bigger body is answered 413
# (decks.exchange_views.RequestSizeLimitMiddleware) before anything reads it. Uploaded
# files above FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) are parsed to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = JAVUMBO_IMPORT_MAX_BYTES + MiB
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# --- end of export and import -----------------------------------------------------------

# --- Django ------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "javumbo",
    "sessions_cache",
    "decks",
    "review",
]

MIDDLEWARE = [
    "javumbo.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "javumbo.middleware.ErrorEnvelopeMiddleware",
    "javumbo.operators_db.OperatorsDatabaseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "decks.exchange_views.RequestSizeLimitMiddleware",  # 413 before the body is read
    "sessions_cache.middleware.UserDatabaseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Overridable so that tests can serve extra routes from separate server processes.
ROOT_URLCONF = env_str("JAVUMBO_ROOT_URLCONF", "javumbo.urls")
WSGI_APPLICATION = "javumbo.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "javumbo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("JAVUMBO_DEFAULT_DB", str(BASE_DIR / "var" / "default.sqlite3")),
    },
    # The authenticated learner's collection, opened per request by the storage engine.
    "userdb": {
        "ENGINE": "sessions_cache.backend",
        "NAME": "learner-collection",
        "AUTOCOMMIT": False,
        "TEST": {"NAME": "learner-collection"},
    },
}
DATABASE_ROUTERS = ["sessions_cache.routers.CollectionRouter"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- The web client (client/, issue 9) -------------------------------------------
# `make client-build` writes the React app to client/dist. WhiteNoise serves its files at
# the site root (Vite's content-hashed files under /assets/ are cached for ever), and
# javumbo.spa answers its index.html for every client-side route.
JAVUMBO_CLIENT_DIST = BASE_DIR / "client" / "dist"
if JAVUMBO_CLIENT_DIST.is_dir():
    WHITENOISE_ROOT = JAVUMBO_CLIENT_DIST
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/.+-[A-Za-z0-9_-]{8,}\.\w+$"
# --- end of the web client --------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- CORS (headers as in API.md) ---------------------------------------------
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", ["http://localhost:5173", "http://127.0.0.1:5173"] if DEBUG else []
)
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-session-id", "idempotency-key"]
CORS_EXPOSE_HEADERS = ["X-Session-ID", "Server-Timing"]
# Origins whose pages may upload large imports straight to the bucket (its CORS rule,
# set by `manage.py provision`): the client's own origin and any API client origin.
JAVUMBO_UPLOAD_ORIGINS = env_list(
    "JAVUMBO_UPLOAD_ORIGINS", CORS_ALLOWED_ORIGINS + CSRF_TRUSTED_ORIGINS
)

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "djangorestframework_camel_case.render.CamelCaseJSONRenderer",
        "djangorestframework_camel_case.render.CamelCaseBrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "djangorestframework_camel_case.parser.CamelCaseJSONParser",
        "djangorestframework_camel_case.parser.CamelCaseFormParser",
        "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
    ],
    "JSON_UNDERSCOREIZE": {"no_underscore_before_number": True},
    "EXCEPTION_HANDLER": "javumbo.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "javumbo.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Javumbo API",
    "DESCRIPTION": "Serverless, Anki-compatible spaced repetition.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "CAMELIZE_NAMES": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
    ],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_DAYS),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "USER_ID_FIELD": "username",
    "USER_ID_CLAIM": "username",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_USER_CLASS": "javumbo.auth.LearnerTokenUser",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "javumbo.requests": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "javumbo": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
