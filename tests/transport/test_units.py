"""Pure pieces: redaction, templates, definitions, environment, transport choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lobs.errors import ConfigError
from lobs.transport import RemoteSpec, open_transport, redact
from lobs.transport.definition import (
    COMPILED,
    builtin_definitions,
    builtin_sources,
    parse_definition,
    split_template,
)
from lobs.transport.env import child_env
from lobs.transport.failure import classify
from lobs.transport.rclone import s3_remote
from lobs.transport.settings import load_settings
from lobs.transport.template import fnmatch_escape, render_argv


def test_redact_connection_strings_env_and_flags() -> None:
    text = ":s3,provider=Other,access_key_id=AKIAXX,secret_access_key='s3cr:et',session_token=tok:bkt/p"
    out = redact(text)
    assert "AKIAXX" not in out and "s3cr" not in out and "tok:" not in out
    assert out.endswith(":bkt/p") and "provider=Other" in out
    assert "hunter2" not in redact("AWS_SECRET_ACCESS_KEY=hunter2 AWS_SESSION_TOKEN=abc aws s3 ls")
    assert redact(["rclone", "--s3-secret-access-key", "hunter2", "ls"]) == ["rclone", "--s3-secret-access-key", "***", "ls"]
    assert redact(["x", "--secret-key=hunter2"]) == ["x", "--secret-key=***"]
    assert redact(["aws", "s3", "cp", "a b", "s3://bkt/k"]) == ["aws", "s3", "cp", "a b", "s3://bkt/k"]


def test_split_template_keeps_blocks_whole() -> None:
    assert split_template("tool put {{ local }} '{{ url }}' '{% if x %}-x {{ x }}{% endif %}'") == (
        "tool",
        "put",
        "{{ local }}",
        "{{ url }}",
        "{% if x %}-x {{ x }}{% endif %}",
    )


def test_render_argv_never_splits_values() -> None:
    argv = render_argv(
        ["{{ global }}", "cp", "{% if e %}--e={{ e }}{% endif %}", "{{ local }}", "{{ local | shquote }}"],
        {"global": ["t", "-v"], "e": "", "local": "a b; $(rm -rf ~) `x` *"},
    )
    assert argv == ["t", "-v", "cp", "a b; $(rm -rf ~) `x` *", "'a b; $(rm -rf ~) `x` *'"]
    with pytest.raises(ConfigError):
        render_argv(["{{ nope }}"], {})
    assert fnmatch_escape("a[b]*?.txt") == "a[[]b][*][?].txt"


def test_builtin_definitions_load() -> None:
    defs = builtin_definitions()
    assert {"aws", "rclone", "s5cmd", "local"} <= set(defs)
    for name in ("aws", "rclone", "s5cmd"):
        d = defs[name]
        assert {"put", "get", "list", "delete", "cat"} <= set(d.commands), name
        assert {"upload", "download", "delete"} <= set(d.batch), name
    assert defs["s5cmd"].python_package_file == "s5cmd/bin/s5cmd"


def test_the_compiled_builtins_match_their_yaml() -> None:
    """lobs reads transports/builtin.json (fast); the YAML files are the source it is made from."""
    compiled = json.loads((Path(__file__).parents[2] / "transports" / COMPILED).read_text("utf-8"))
    assert compiled == builtin_sources(), "transports/*.yml changed: run `python -m lobs.transport.definition`"
    assert sorted(builtin_definitions()) == sorted(builtin_sources()) == ["aws", "local", "rclone", "s5cmd"]


def test_user_definition_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="upload"):
        parse_definition("t", {"download": "x {{ url }}"})
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_definition("t", {"upload": "a", "download": "b", "upload_batch": {"argv": "x", "bogus": 1}})
    with pytest.raises(ConfigError, match="built in"):
        open_transport(RemoteSpec(url="/tmp/x", transport="aws"), {"aws": {"upload": "a", "download": "b"}})


def test_child_env_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {
        "AWS_CA_BUNDLE": "/ca.pem",
        "AWS_ACCESS_KEY_ID": "k",
        "RCLONE_TRANSFERS": "64",
        "RCLONE_CONFIG": "/my/rclone.conf",
        "RCLONE_CONFIG_MYREMOTE_TYPE": "s3",
        "S3_ENDPOINT_URL": "http://elsewhere",
        "PATH": "/bin",
    }
    env = child_env("rclone", RemoteSpec(url="myremote:bkt", profile="p", region="eu-west-1"), base=base)
    assert "AWS_CA_BUNDLE" not in env and "RCLONE_TRANSFERS" not in env and "S3_ENDPOINT_URL" not in env
    assert env["RCLONE_CONFIG"] == "/my/rclone.conf" and env["RCLONE_CONFIG_MYREMOTE_TYPE"] == "s3"
    assert env["AWS_ACCESS_KEY_ID"] == "k" and env["AWS_PROFILE"] == "p" and env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    env = child_env("aws", RemoteSpec(url="s3://bkt"), base=base)
    assert env["AWS_CA_BUNDLE"] == "/ca.pem" and "RCLONE_CONFIG_MYREMOTE_TYPE" not in env


def test_rclone_remote_string_quotes_endpoint_and_has_no_secrets() -> None:
    spec = RemoteSpec(url="s3://bkt/p", endpoint_url="http://127.0.0.1:9000", region="auto")
    assert s3_remote(spec, "bkt", "p") == ":s3,provider=Other,env_auth=true,endpoint='http://127.0.0.1:9000',region='auto':bkt/p"
    anon = s3_remote(RemoteSpec(url="s3://bkt", no_sign_request=True), "bkt", "")
    assert anon == ":s3,provider=AWS,env_auth=false:bkt"


def test_settings_from_options_and_env() -> None:
    s = load_settings({"retries": "1"}, {"LOBS_RETRIES": "7", "LOBS_CONNECT_TIMEOUT": "2s"})
    assert s.retries == 1 and s.connect_timeout == 2.0
    with pytest.raises(ConfigError):
        load_settings({"idle_timeout": "soon"}, {})


def test_classify_tool_messages() -> None:
    assert classify("InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records") == "permission"
    assert classify('Could not connect to the endpoint URL: "http://127.0.0.1:9/b"') == "network"
    assert classify("NoSuchBucket: The specified bucket does not exist") == "not_found"
    assert classify("panic: something odd") == "tool_failed"


def test_transport_choice_and_option_checks(tmp_path: Path) -> None:
    assert open_transport(RemoteSpec(url=str(tmp_path))).name == "local"
    assert open_transport(RemoteSpec(url="s3://bkt/p")).name == "s5cmd"  # first installed
    assert open_transport(RemoteSpec(url="myremote:some/path")).name == "rclone"
    with pytest.raises(ConfigError, match="cannot reach"):
        open_transport(RemoteSpec(url="myremote:x", transport="s5cmd"))
    with pytest.raises(ConfigError, match="server-side encryption"):
        open_transport(RemoteSpec(url=str(tmp_path), options={"sse": "AES256"}))
    with pytest.raises(ConfigError, match="sse must be"):
        open_transport(RemoteSpec(url="s3://bkt", transport="aws", options={"sse": "rot13"}))
    with pytest.raises(ConfigError, match="unknown transport"):
        open_transport(RemoteSpec(url="s3://bkt", transport="ftp"))


def test_jobs_reach_the_tools_own_concurrency_flags() -> None:
    from lobs.transport import RemoteSpec, open_transport
    from lobs.transport.command import CommandTransport

    for tool, flags in (("s5cmd", ["--numworkers=16"]), ("rclone", ["--transfers=16", "--checkers=16"])):
        t = open_transport(RemoteSpec(url="s3://bkt/p", transport=tool, endpoint_url="http://127.0.0.1:9"))
        assert isinstance(t, CommandTransport)
        with_jobs, default = t.context(jobs=16)["global"], t.context()["global"]
        assert all(f in with_jobs for f in flags), with_jobs
        assert not any(f in default for f in flags), default
