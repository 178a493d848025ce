from tests.s3server import moto_auth_server, moto_server, s3_auth_endpoint, s3_endpoint  # noqa: F401 - fixtures
