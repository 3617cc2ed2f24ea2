"""Fixtures for the sidecar tests: real servers on port 0 with the real judge bundle and real channels."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sidecar_harness import JUDGE_BUNDLE, RunningSidecar, sidecar_config

from sidecar.config import SidecarConfig
from sidecar.logs import JsonFormatter
from sidecar.pb import guardrail_pb2_grpc as pb_grpc


@pytest.fixture(scope="session")
def judge_bundle() -> Path:
    if not (JUDGE_BUNDLE / "manifest.json").is_file():
        pytest.fail(f"the default judge bundle {JUDGE_BUNDLE} is missing: build it with `make judge`")
    return JUDGE_BUNDLE


@pytest.fixture(scope="session")
def captured_logs() -> Iterator[io.StringIO]:
    """Every JSON log line the sidecar loggers write during the session."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("theraguard")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.fixture(scope="session")
def sidecar(
    judge_bundle: Path, captured_logs: io.StringIO, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSidecar]:
    """The shared, loaded sidecar with the default policy (tests must not change its policy file)."""
    running = RunningSidecar(sidecar_config(tmp_path_factory.mktemp("sidecar")))
    yield running
    running.close()


@pytest.fixture(scope="session")
def stub(sidecar: RunningSidecar) -> Iterator[pb_grpc.GuardrailStub]:
    channel = sidecar.channel()
    yield pb_grpc.GuardrailStub(channel)
    channel.close()


@pytest.fixture
def start_sidecar(judge_bundle: Path, captured_logs: io.StringIO) -> Iterator[Callable[..., RunningSidecar]]:
    """Start extra sidecars for one test (own config); all are stopped afterwards."""
    started: list[RunningSidecar] = []

    def start(config: SidecarConfig, **kwargs: Any) -> RunningSidecar:
        running = RunningSidecar(config, **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        running.close(grace=0)
