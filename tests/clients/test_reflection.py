"""gRPC reflection against the real sidecar process: list, describe and invoke with no .proto and no
generated code, the way grpcurl and other reflection clients work."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from sidecarproc import SidecarProcess

from sidecar.domain import DIMENSIONS
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow  # starts the sidecar process

GUARDRAIL = "theraguard.v1.Guardrail"


@pytest.fixture(scope="module")
def channel(sidecar_process: SidecarProcess) -> Iterator[grpc.Channel]:
    with sidecar_process.channel() as ch:
        yield ch


@pytest.fixture(scope="module")
def pool(channel: grpc.Channel) -> descriptor_pool.DescriptorPool:
    """A descriptor pool filled only from the server's reflection service (a fresh pool, not the
    default one the generated stubs registered into)."""
    return descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))


def test_list_services(channel: grpc.Channel) -> None:
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {GUARDRAIL, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services


@pytest.mark.parametrize(
    ("method", "request_type", "response_type"),
    [
        ("Score", "theraguard.v1.ScoreRequest", "theraguard.v1.ScoreResponse"),
        ("Guard", "theraguard.v1.GuardRequest", "theraguard.v1.GuardResponse"),
        ("BulkScore", "theraguard.v1.BulkScoreRequest", "theraguard.v1.BulkScoreResponse"),
    ],
)
def test_describe_guardrail(
    method: str, request_type: str, response_type: str, pool: descriptor_pool.DescriptorPool
) -> None:
    service = pool.FindServiceByName(GUARDRAIL)
    assert sorted(m.name for m in service.methods) == ["BulkScore", "Guard", "Score"]
    described = service.methods_by_name[method]
    assert (described.input_type.full_name, described.output_type.full_name) == (request_type, response_type)
    assert not described.client_streaming and not described.server_streaming


def test_describe_messages_and_enums(pool: descriptor_pool.DescriptorPool) -> None:
    request = pool.FindMessageTypeByName("theraguard.v1.ScoreRequest")
    assert [f.name for f in request.fields] == ["context", "reply", "policy", "overrides", "request_id"]
    assert request.fields_by_name["context"].message_type.full_name == "theraguard.v1.Turn"
    dimension = pool.FindEnumTypeByName("theraguard.v1.Dimension")
    names = [v.name for v in dimension.values]
    assert names[0] == "DIMENSION_UNSPECIFIED"
    assert [n.removeprefix("DIMENSION_").capitalize() for n in names[1:]] == list(DIMENSIONS)
    # The reflected descriptors are the contract the generated stubs were built from.
    assert pool.FindFileContainingSymbol(GUARDRAIL).serialized_pb == pb.DESCRIPTOR.serialized_pb


def test_invoke_score_dynamically(
    channel: grpc.Channel, pool: descriptor_pool.DescriptorPool, sidecar_process: SidecarProcess
) -> None:
    method = pool.FindServiceByName(GUARDRAIL).methods_by_name["Score"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    turn_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("theraguard.v1.Turn"))
    role_user = pool.FindEnumTypeByName("theraguard.v1.Role").values_by_name["ROLE_USER"].number
    request = request_class(
        context=[turn_class(role=role_user, text="Work has been crushing me and I cry every night.")],
        reply="That sounds exhausting. Crying every night tells me how much you're carrying. What feels heaviest?",
        request_id="reflection-1",
    )
    call = channel.unary_unary(
        f"/{GUARDRAIL}/{method.name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    response = call(request, timeout=30)

    assert response.DESCRIPTOR.full_name == "theraguard.v1.ScoreResponse"
    assert response.request_id == "reflection-1"
    dimension_enum = pool.FindEnumTypeByName("theraguard.v1.Dimension")
    names = [dimension_enum.values_by_number[s.dimension].name for s in response.scores]
    assert [n.removeprefix("DIMENSION_").capitalize() for n in names] == list(DIMENSIONS)
    assert all(1.0 <= s.score <= 5.0 for s in response.scores)
    # Same call through the generated stub: same scores (dynamic and static messages share the wire).
    static = pb_grpc.GuardrailStub(channel).Score(
        pb.ScoreRequest.FromString(request.SerializeToString()), timeout=30
    )
    assert [s.score for s in response.scores] == pytest.approx([s.score for s in static.scores], abs=1e-6)
    threshold_field = response_class.DESCRIPTOR.fields_by_name["scores"].message_type.fields_by_name[
        "threshold"
    ]
    assert threshold_field.type == FieldDescriptor.TYPE_FLOAT
    thresholds = sidecar_process.policy["policies"]["default"]["thresholds"]
    assert [s.threshold for s in response.scores] == pytest.approx([thresholds[d] for d in DIMENSIONS])


def test_invalid_argument_through_a_dynamic_call(
    channel: grpc.Channel, pool: descriptor_pool.DescriptorPool
) -> None:
    method = pool.FindServiceByName(GUARDRAIL).methods_by_name["Guard"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{GUARDRAIL}/Guard",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    with pytest.raises(grpc.RpcError) as err:
        call(request_class(reply=""), timeout=30)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "reply" in err.value.details()
