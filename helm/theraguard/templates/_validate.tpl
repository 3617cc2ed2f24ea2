{{/*
Install-time validation beyond values.schema.json (which a user can skip with
--skip-schema-validation): every problem is collected, then the render fails once listing them all,
each message naming the value and the fix. Mirrors the sidecar's own config/policy checks.
*/}}
{{- define "theraguard.validate" -}}
{{- $v := .Values }}
{{- $errors := list }}
{{- $dims := list "Guidance" "Informativeness" "Relevance" "Safety" "Empathy" "Helpfulness" "Understanding" }}
{{- $actions := list "rewrite" "block" "flag" }}

{{- if not (has $v.mode (list "sidecar" "standalone")) }}
{{- $errors = append $errors (printf "mode must be sidecar or standalone (got: %v)" $v.mode) }}
{{- end }}

{{- if and $v.models.volume.claimName $v.models.initContainer.image }}
{{- $errors = append $errors (printf "models.volume.claimName (%s) and models.initContainer.image (%s) are both set: choose one model source, or neither to use the models baked into the image" $v.models.volume.claimName $v.models.initContainer.image) }}
{{- end }}

{{- if not (hasKey $v.policy.policies $v.policy.defaultPolicy) }}
{{- $errors = append $errors (printf "policy.defaultPolicy %q is not defined under policy.policies (defined: %s)" $v.policy.defaultPolicy (keys $v.policy.policies | sortAlpha | join ", ")) }}
{{- end }}
{{- range $name, $p := $v.policy.policies }}
{{- $where := printf "policy.policies.%s" $name }}
{{- if not (regexMatch "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$" $name) }}
{{- $errors = append $errors (printf "%s: the policy name must be 1-64 of letters, digits, '_', '.', '-'" $where) }}
{{- end }}
{{- $thresholds := $p.thresholds | default dict }}
{{- range $dim, $t := $thresholds }}
{{- if not (has $dim $dims) }}
{{- $errors = append $errors (printf "%s.thresholds.%s: unknown dimension; use %s" $where $dim (join ", " $dims)) }}
{{- else if not (or (kindIs "float64" $t) (kindIs "int64" $t) (kindIs "int" $t)) }}
{{- $errors = append $errors (printf "%s.thresholds.%s must be a number in [1, 5] (got: %v)" $where $dim $t) }}
{{- else if or (lt (float64 $t) 1.0) (gt (float64 $t) 5.0) }}
{{- $errors = append $errors (printf "threshold %s.thresholds.%s must be in [1, 5] (got: %v)" $where $dim $t) }}
{{- end }}
{{- end }}
{{- range $dim := $dims }}
{{- if not (hasKey $thresholds $dim) }}
{{- $errors = append $errors (printf "%s.thresholds.%s is missing (all 7 dimensions need a threshold)" $where $dim) }}
{{- end }}
{{- end }}
{{- $onFailure := $p.onFailure | default "rewrite" }}
{{- if not (has $onFailure $actions) }}
{{- $errors = append $errors (printf "%s.onFailure: unknown action %q; use rewrite, block or flag" $where $onFailure) }}
{{- end }}
{{- range $dim, $action := ($p.actions | default dict) }}
{{- if not (has $dim $dims) }}
{{- $errors = append $errors (printf "%s.actions.%s: unknown dimension; use %s" $where $dim (join ", " $dims)) }}
{{- end }}
{{- if not (has $action $actions) }}
{{- $errors = append $errors (printf "%s.actions.%s: unknown action %q; use rewrite, block or flag" $where $dim $action) }}
{{- end }}
{{- end }}
{{- range $dim := ($p.critical | default list) }}
{{- if not (has $dim $dims) }}
{{- $errors = append $errors (printf "%s.critical: unknown dimension %q; use %s" $where $dim (join ", " $dims)) }}
{{- else if eq (get ($p.actions | default dict) $dim | default $onFailure) "flag" }}
{{- $errors = append $errors (printf "%s: %s is critical, so its action must be rewrite or block (got: flag)" $where $dim) }}
{{- end }}
{{- end }}
{{- range $dim := ($p.overridable | default list) }}
{{- if not (has $dim $dims) }}
{{- $errors = append $errors (printf "%s.overridable: unknown dimension %q; use %s" $where $dim (join ", " $dims)) }}
{{- end }}
{{- end }}
{{- if not (trim ($p.fallbackReply | default "" | toString)) }}
{{- $errors = append $errors (printf "%s.fallbackReply must be a non-empty vetted reply text" $where) }}
{{- end }}
{{- end }}

{{- if and $v.tls.enabled (not $v.tls.secretName) }}
{{- $errors = append $errors "tls.enabled is true but tls.secretName is empty: name a kubernetes.io/tls Secret" }}
{{- end }}
{{- if and $v.tls.clientAuth (not $v.tls.enabled) }}
{{- $errors = append $errors "tls.clientAuth (mTLS) needs tls.enabled: true and tls.secretName" }}
{{- end }}
{{- if eq (int $v.ports.grpc) (int $v.ports.metrics) }}
{{- $errors = append $errors (printf "ports.grpc and ports.metrics must differ (both %v)" $v.ports.grpc) }}
{{- end }}
{{- if and (eq $v.config.rewriter.backend "openai") (not (and $v.config.rewriter.openai.baseUrl $v.config.rewriter.openai.model)) }}
{{- $errors = append $errors "config.rewriter.backend is openai: set config.rewriter.openai.baseUrl and config.rewriter.openai.model" }}
{{- end }}
{{- if gt (int $v.config.limits.maxBulkItems) (int $v.config.judge.batching.maxQueue) }}
{{- $errors = append $errors (printf "config.limits.maxBulkItems (%v) must be <= config.judge.batching.maxQueue (%v)" $v.config.limits.maxBulkItems $v.config.judge.batching.maxQueue) }}
{{- end }}
{{- if and $v.gpu.enabled $v.gpu.requireGpu (not (or (has "tensorrt" $v.gpu.providers) (has "cuda" $v.gpu.providers))) }}
{{- $errors = append $errors "gpu.requireGpu is true but gpu.providers has neither tensorrt nor cuda" }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%v) must be <= autoscaling.maxReplicas (%v)" $v.autoscaling.minReplicas $v.autoscaling.maxReplicas) }}
{{- end }}

{{- if $errors }}
{{- fail (printf "\n\nTheraGuard values are invalid:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
