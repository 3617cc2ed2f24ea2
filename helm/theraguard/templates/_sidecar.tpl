{{/*
The guard's pod parts, used by this chart's Deployment (standalone mode) and by your chat chart
(sidecar mode). From a parent chart that has this chart as the dependency "theraguard", pass
(dict "Values" .Values.theraguard "Release" .Release):

  template:
    metadata:
      annotations:
        {{- include "theraguard.sidecar.podAnnotations" (dict "Values" .Values.theraguard "Release" .Release) | nindent 8 }}
    spec:
      initContainers:
        {{- include "theraguard.sidecar.initContainers" (dict "Values" .Values.theraguard "Release" .Release) | nindent 8 }}
      containers:
        - name: chat
          ...
        {{- include "theraguard.sidecar.containers" (dict "Values" .Values.theraguard "Release" .Release) | nindent 8 }}
      volumes:
        {{- include "theraguard.sidecar.volumes" (dict "Values" .Values.theraguard "Release" .Release) | nindent 8 }}

Each renders a YAML list (or map) fragment, possibly empty; every volume name starts with
"theraguard-" so it cannot clash with your pod's own.
*/}}

{{/*
Pod annotations: checksums of the rendered config (and policy, with policy.rollOnChange) so a change
rolls the pods.
*/}}
{{- define "theraguard.sidecar.podAnnotations" -}}
checksum/config: {{ include "theraguard.configYaml" . | sha256sum }}
{{- if .Values.policy.rollOnChange }}
checksum/policy: {{ include "theraguard.policyYaml" . | sha256sum }}
{{- end }}
{{- end }}

{{/*
The guard container(s) for the pod's `containers:` list (empty with sidecar.nativeSidecar in sidecar
mode: the guard is then in the init containers).
*/}}
{{- define "theraguard.sidecar.containers" -}}
{{- if not (and (eq .Values.mode "sidecar") .Values.sidecar.nativeSidecar) }}
{{- include "theraguard.container" (dict "ctx" . "native" false) | trim }}
{{- end }}
{{- end }}

{{/*
Init containers: the model copy (models.initContainer.image), then the native sidecar if enabled.
*/}}
{{- define "theraguard.sidecar.initContainers" -}}
{{- if .Values.models.initContainer.image }}
- name: theraguard-models
  image: {{ .Values.models.initContainer.image | quote }}
  imagePullPolicy: {{ .Values.models.initContainer.pullPolicy }}
  command:
    - cp
    - -R
    - {{ printf "%s/." (trimSuffix "/" .Values.models.initContainer.sourcePath) | quote }}
    - /var/lib/theraguard/models/
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    requests:
      cpu: 100m
      memory: 64Mi
    limits:
      memory: 256Mi
  volumeMounts:
    - name: theraguard-models
      mountPath: /var/lib/theraguard/models
{{- end }}
{{- if and (eq .Values.mode "sidecar") .Values.sidecar.nativeSidecar }}
{{ include "theraguard.container" (dict "ctx" . "native" true) | trim }}
{{- end }}
{{- end }}

{{/*
The guard's volumes: config, policy, /tmp, and as configured the TensorRT cache, TLS, models.
*/}}
{{- define "theraguard.sidecar.volumes" -}}
- name: theraguard-config
  configMap:
    name: {{ include "theraguard.configMapName" . }}
- name: theraguard-policy
  configMap:
    name: {{ include "theraguard.policyMapName" . }}
- name: theraguard-tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if .Values.gpu.enabled }}
- name: theraguard-trt-cache
  {{- if .Values.gpu.tensorrtCache.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.gpu.tensorrtCache.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ .Values.gpu.tensorrtCache.sizeLimit }}
  {{- end }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: theraguard-tls
  secret:
    secretName: {{ .Values.tls.secretName }}
    defaultMode: 0444  # readable by uid 10001 whatever the pod's fsGroup (sidecar mode)
{{- end }}
{{- if .Values.models.volume.claimName }}
- name: theraguard-models
  persistentVolumeClaim:
    claimName: {{ .Values.models.volume.claimName }}
    readOnly: true
{{- else if .Values.models.initContainer.image }}
- name: theraguard-models
  emptyDir:
    sizeLimit: {{ .Values.models.initContainer.sizeLimit }}
{{- end }}
{{- end }}

{{/*
One probe: the timing object from values plus the handler. Kubelet gRPC probes cannot speak TLS, so
with tls.enabled the handler runs the health-check script from the config ConfigMap instead.
*/}}
{{- define "theraguard.probe" -}}
{{- $ctx := .ctx }}
{{- $timing := deepCopy .timing }}
{{- if $ctx.Values.tls.enabled }}
{{- /* A Python interpreter starts per check: give it at least 5 s. */}}
{{- $_ := set $timing "timeoutSeconds" (max (int (.timing.timeoutSeconds | default 1)) 5) }}
exec:
  command:
    - /opt/venv/bin/python
    - /etc/theraguard/config/healthcheck.py
    - {{ printf "127.0.0.1:%d" (int $ctx.Values.ports.grpc) | quote }}
{{- else }}
grpc:
  port: {{ $ctx.Values.ports.grpc }}
{{- end }}
{{ toYaml $timing }}
{{- end }}

{{/*
The guard container. `native` adds restartPolicy: Always (a native sidecar in initContainers).
*/}}
{{- define "theraguard.container" -}}
{{- $ctx := .ctx }}
{{- $v := $ctx.Values }}
- name: theraguard
  image: {{ include "theraguard.image" $ctx | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  args:
    - --config
    - /etc/theraguard/config/theraguard.yaml
  ports:
    - name: guard-grpc
      containerPort: {{ $v.ports.grpc }}
      protocol: TCP
    {{- if $v.metrics.enabled }}
    - name: guard-metrics
      containerPort: {{ $v.ports.metrics }}
      protocol: TCP
    {{- end }}
  {{- if or $v.extraEnv $v.config.rewriter.openai.apiKeySecret.name }}
  env:
    {{- if and (eq $v.config.rewriter.backend "openai") $v.config.rewriter.openai.apiKeySecret.name }}
    - name: OPENAI_API_KEY
      valueFrom:
        secretKeyRef:
          name: {{ $v.config.rewriter.openai.apiKeySecret.name }}
          key: {{ $v.config.rewriter.openai.apiKeySecret.key }}
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  startupProbe:
    {{- include "theraguard.probe" (dict "ctx" $ctx "timing" (ternary $v.gpu.startupProbe $v.probes.startup $v.gpu.enabled)) | trim | nindent 4 }}
  livenessProbe:
    {{- include "theraguard.probe" (dict "ctx" $ctx "timing" $v.probes.liveness) | trim | nindent 4 }}
  readinessProbe:
    {{- include "theraguard.probe" (dict "ctx" $ctx "timing" $v.probes.readiness) | trim | nindent 4 }}
  resources:
    {{- $resources := deepCopy ($v.resources | default dict) }}
    {{- if $v.gpu.enabled }}
    {{- $limits := get $resources "limits" | default dict }}
    {{- $_ := set $limits "nvidia.com/gpu" (int $v.gpu.count) }}
    {{- $_ := set $resources "limits" $limits }}
    {{- end }}
    {{- toYaml $resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: theraguard-config
      mountPath: /etc/theraguard/config
      readOnly: true
    - name: theraguard-policy
      mountPath: /etc/theraguard/policy
      readOnly: true
    - name: theraguard-tmp
      mountPath: /tmp
    {{- if $v.gpu.enabled }}
    - name: theraguard-trt-cache
      mountPath: /var/cache/theraguard/tensorrt
    {{- end }}
    {{- if $v.tls.enabled }}
    - name: theraguard-tls
      mountPath: /etc/theraguard/tls
      readOnly: true
    {{- end }}
    {{- if or $v.models.volume.claimName $v.models.initContainer.image }}
    - name: theraguard-models
      mountPath: /var/lib/theraguard/models
      readOnly: true
      {{- if and $v.models.volume.claimName $v.models.volume.subPath }}
      subPath: {{ $v.models.volume.subPath }}
      {{- end }}
    {{- end }}
{{- end }}
