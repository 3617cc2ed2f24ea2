{{/*
Helpers. Everything reached by the theraguard.sidecar.* templates (see _sidecar.tpl) uses only
.Values and .Release, so a parent chart can call them with
(dict "Values" .Values.theraguard "Release" .Release) and get the same names as this chart renders.
*/}}

{{/*
The chart name, cut to 63 characters (a DNS label). Fixed to "theraguard" rather than .Chart.Name so
that an aliased dependency and a parent chart's include agree on resource names.
*/}}
{{- define "theraguard.name" -}}
{{- default "theraguard" .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: <release>-<name> (or just <release> when it already contains the name), cut to 63.
*/}}
{{- define "theraguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "theraguard.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Names of the two ConfigMaps (the "-config"/"-policy" suffix must survive the 63-character cut).
*/}}
{{- define "theraguard.configMapName" -}}
{{- printf "%s-config" (include "theraguard.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}
{{- define "theraguard.policyMapName" -}}
{{- printf "%s-policy" (include "theraguard.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/*
Chart label value: <chart>-<version>, "+" replaced (not allowed in label values), cut to 63.
*/}}
{{- define "theraguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: the stable subset that Deployment/Service/PDB/NetworkPolicy select pods by.
*/}}
{{- define "theraguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "theraguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels on every resource this chart renders.
*/}}
{{- define "theraguard.labels" -}}
helm.sh/chart: {{ include "theraguard.chart" . }}
{{ include "theraguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: guardrail
app.kubernetes.io/part-of: theraguard
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The ServiceAccount name (standalone mode).
*/}}
{{- define "theraguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "theraguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository, then @digest or :tag (default appVersion, + the GPU suffix).
The appVersion comes from .Chart when present, else from the image tag default below, so the
include from a parent chart (no .Chart of ours) still resolves.
*/}}
{{- define "theraguard.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- $tag := $image.tag }}
{{- if not $tag }}
{{- $tag = include "theraguard.appVersion" . }}
{{- if .Values.gpu.enabled }}{{ $tag = printf "%s%s" $tag .Values.gpu.imageTagSuffix }}{{ end }}
{{- end }}
{{- printf "%s:%s" $image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The app version. Kept in step with Chart.yaml's appVersion by tests/helm (a parent chart's include
has no .Chart of ours to read it from).
*/}}
{{- define "theraguard.appVersion" -}}
0.1.0
{{- end }}

{{/*
Where the models are inside the container: baked into the image, or the mounted model source.
*/}}
{{- define "theraguard.modelRoot" -}}
{{- if or .Values.models.volume.claimName .Values.models.initContainer.image -}}
/var/lib/theraguard/models
{{- else -}}
/opt/theraguard/models
{{- end }}
{{- end }}

{{/*
The TLS server name the probe script verifies against.
*/}}
{{- define "theraguard.tlsServerName" -}}
{{- if .Values.tls.serverName }}
{{- .Values.tls.serverName }}
{{- else if eq .Values.mode "sidecar" }}
{{- "localhost" }}
{{- else }}
{{- printf "%s.%s.svc" (include "theraguard.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}
