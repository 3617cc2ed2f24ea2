{{/*
The sidecar's theraguard.yaml (shape: config/theraguard.yaml in the repository), built as a dict and
written with toYaml so every string is quoted correctly. Paths, addresses, providers and TLS files are
decided here from the chart's values; the rest maps 1:1 from .Values.config (camelCase -> snake_case).
*/}}
{{- define "theraguard.configYaml" -}}
{{- $v := .Values }}
{{- $c := $v.config }}
{{- $root := include "theraguard.modelRoot" . }}
{{- $tls := dict "cert_file" "" "key_file" "" "client_ca_file" "" }}
{{- if $v.tls.enabled }}
{{- $tls = dict "cert_file" "/etc/theraguard/tls/tls.crt" "key_file" "/etc/theraguard/tls/tls.key" "client_ca_file" (ternary "/etc/theraguard/tls/ca.crt" "" (and $v.tls.clientAuth true)) }}
{{- end }}
{{- $server := dict
  "address" (printf "0.0.0.0:%d" (int $v.ports.grpc))
  "metrics_address" (ternary (printf "0.0.0.0:%d" (int $v.ports.metrics)) "" (and $v.metrics.enabled true))
  "max_concurrent_calls" $c.maxConcurrentCalls
  "grace_seconds" $c.graceSeconds
  "tls" $tls }}
{{- $limits := dict
  "max_reply_chars" $c.limits.maxReplyChars
  "max_turn_chars" $c.limits.maxTurnChars
  "max_turns" $c.limits.maxTurns
  "max_bulk_items" $c.limits.maxBulkItems }}
{{- $judge := dict
  "bundle" (printf "%s/%s" $root $v.models.judgeDir)
  "providers" (ternary $v.gpu.providers $c.judge.providers (and $v.gpu.enabled true))
  "require_gpu" (and $v.gpu.enabled $v.gpu.requireGpu true)
  "tensorrt_cache_dir" (ternary "/var/cache/theraguard/tensorrt" "/tmp/theraguard-trt" (and $v.gpu.enabled true))
  "intra_op_threads" $c.judge.intraOpThreads
  "batching" (dict
    "max_batch_size" $c.judge.batching.maxBatchSize
    "max_wait_ms" $c.judge.batching.maxWaitMs
    "max_queue" $c.judge.batching.maxQueue) }}
{{- $openai := dict
  "base_url" $c.rewriter.openai.baseUrl
  "model" $c.rewriter.openai.model
  "api_key_env" "OPENAI_API_KEY"
  "timeout_s" $c.rewriter.openai.timeoutS }}
{{- $rewriter := dict
  "backend" $c.rewriter.backend
  "model_dir" (printf "%s/%s" $root $v.models.rewriterDir)
  "max_new_tokens" $c.rewriter.maxNewTokens
  "openai" $openai }}
{{- toYaml (dict
  "server" $server
  "limits" $limits
  "judge" $judge
  "rewriter" $rewriter
  "policy_file" "/etc/theraguard/policy/policy.yaml") }}
{{- end }}

{{/*
The policy.yaml (shape: config/policy.yaml), from .Values.policy. Only keys given in values are
written; the sidecar validates the file again on every reload.
*/}}
{{- define "theraguard.policyYaml" -}}
{{- $policies := dict }}
{{- range $name, $p := .Values.policy.policies }}
{{- $out := dict }}
{{- if hasKey $p "thresholds" }}{{ $_ := set $out "thresholds" $p.thresholds }}{{ end }}
{{- if hasKey $p "critical" }}{{ $_ := set $out "critical" $p.critical }}{{ end }}
{{- if hasKey $p "onFailure" }}{{ $_ := set $out "on_failure" $p.onFailure }}{{ end }}
{{- if hasKey $p "actions" }}{{ $_ := set $out "actions" $p.actions }}{{ end }}
{{- if hasKey $p "overridable" }}{{ $_ := set $out "overridable" $p.overridable }}{{ end }}
{{- if hasKey $p "shadow" }}{{ $_ := set $out "shadow" $p.shadow }}{{ end }}
{{- if hasKey $p "failOpen" }}
{{- $fo := dict }}
{{- if hasKey $p.failOpen "judgeUnavailable" }}{{ $_ := set $fo "judge_unavailable" $p.failOpen.judgeUnavailable }}{{ end }}
{{- if hasKey $p.failOpen "rewriterUnavailable" }}{{ $_ := set $fo "rewriter_unavailable" $p.failOpen.rewriterUnavailable }}{{ end }}
{{- if hasKey $p.failOpen "overload" }}{{ $_ := set $fo "overload" $p.failOpen.overload }}{{ end }}
{{- $_ := set $out "fail_open" $fo }}
{{- end }}
{{- if hasKey $p "fallbackReply" }}{{ $_ := set $out "fallback_reply" $p.fallbackReply }}{{ end }}
{{- $_ := set $policies $name $out }}
{{- end }}
{{- toYaml (dict "default_policy" .Values.policy.defaultPolicy "policies" $policies) }}
{{- end }}

{{/*
The TLS health check the probes run when tls.enabled (kubelet gRPC probes cannot speak TLS): one
grpc.health.v1 Check over TLS (mTLS with the pod's own certificate when tls.clientAuth), exit 0 only
on SERVING.
*/}}
{{- define "theraguard.healthcheckPy" -}}
"""TLS gRPC health check for Kubernetes exec probes: exit 0 only when the server reports SERVING."""
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TLS = "/etc/theraguard/tls/"
SERVER_NAME = {{ include "theraguard.tlsServerName" . | quote }}
MUTUAL = {{ ternary "True" "False" (and .Values.tls.clientAuth true) }}


def read(name):
    with open(TLS + name, "rb") as f:
        return f.read()


def main(target):
    try:
        roots = read("ca.crt")
    except FileNotFoundError:
        roots = read("tls.crt")  # a self-signed certificate is its own root
    creds = grpc.ssl_channel_credentials(
        roots, read("tls.key") if MUTUAL else None, read("tls.crt") if MUTUAL else None
    )
    options = [("grpc.ssl_target_name_override", SERVER_NAME)]
    with grpc.secure_channel(target, creds, options=options) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2.5)
        except grpc.RpcError as err:
            print(f"health check failed: {err.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
{{- end }}
