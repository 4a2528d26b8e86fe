{{/*
Shared names and labels of the modq chart, and "modq.workerConfig": the worker's config file,
built from the values.

The tests render every template without Helm (tests/helm/helm_render.py, a Go-template engine
for the actions and functions this chart uses; anything else fails the tests until it is added
there) and check modq.workerConfig with `modq-worker --check-config` (test_helm_config.py).
*/}}

{{- define "modq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modq.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "modq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "modq.labels" -}}
helm.sh/chart: {{ include "modq.chart" . }}
{{ include "modq.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Mode fleet runs the worker as two Deployments of one pod template: role prepare (the ticket
consumer group; what scales) and role desk (the review desk: one active pod, the others warm
standbys). Mode single runs one Deployment of role all. "modq.roles" is the space-separated roles
of the mode's Deployments. The role helpers take (dict "root" $ "role" ROLE); role all gives the
names and labels mode single always had, so its manifests do not change.
*/}}
{{- define "modq.roles" -}}
{{- if eq .Values.mode "fleet" }}prepare desk{{ else }}all{{ end }}
{{- end }}

{{/* The role whose pods serve associates: the Service and Ingress route to them. */}}
{{- define "modq.servingRole" -}}
{{- if eq .Values.mode "fleet" }}desk{{ else }}all{{ end }}
{{- end }}

{{/* A role's resource name: the full name, or (fleet) the full name with -prepare / -desk. */}}
{{- define "modq.roleName" -}}
{{- if eq .role "all" }}
{{- include "modq.fullname" .root }}
{{- else }}
{{- printf "%s-%s" (include "modq.fullname" .root | trunc 55 | trimSuffix "-") .role }}
{{- end }}
{{- end }}

{{/* A role's pod selector: the release's, plus app.kubernetes.io/component in mode fleet. */}}
{{- define "modq.roleSelectorLabels" -}}
{{ include "modq.selectorLabels" .root }}
{{- if ne .role "all" }}
app.kubernetes.io/component: {{ .role }}
{{- end }}
{{- end }}

{{- define "modq.roleLabels" -}}
{{ include "modq.labels" .root }}
{{- if ne .role "all" }}
app.kubernetes.io/component: {{ .role }}
{{- end }}
{{- end }}

{{- define "modq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "modq.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The worker's config file. Numbers go through toJson because Helm reads values as float64 and
prints large ones as 1e+08 otherwise. Secrets, the listen address, the worker id, the group
instance id and (mode fleet) worker.role are not here: the Deployments pass them as MODQ_*
environment variables (per pod or per role, or file paths of mounted Secrets), so both roles of
a fleet share this one file. consumer.desk_group_id and topics.review are written in mode fleet,
and in mode single only when they differ from the worker's defaults (modq-desk, modq.review;
worker/config/config_keys.c): a single-mode release renders as it did before fleet mode existed.
*/}}
{{- define "modq.workerConfig" -}}
# modq-worker configuration, rendered by the modq Helm chart from its values.
# MODQ_* environment variables of the pod override it (see the Deployment).
worker:
  policy: {{ if .Values.policy.content }}/etc/modq/policy.yaml{{ else }}/usr/share/modq/default.yaml{{ end }}
  grace_seconds: {{ .Values.worker.graceSeconds | toJson }}
  prepare_threads: {{ .Values.worker.prepareThreads | toJson }}
  window_per_queue: {{ .Values.worker.windowPerQueue | toJson }}
  demo: false
kafka:
  bootstrap.servers: {{ .Values.kafka.bootstrapServers | toJson }}
{{- range $name, $value := .Values.kafka.properties }}
  {{ $name | toJson }}: {{ $value | toJson }}
{{- end }}
consumer:
  group_id: {{ .Values.consumer.groupId | toJson }}
  metadata_cap_bytes: {{ .Values.consumer.metadataCapBytes | toJson }}
{{- if or (eq .Values.mode "fleet") (ne .Values.consumer.deskGroupId "modq-desk") }}
  desk_group_id: {{ .Values.consumer.deskGroupId | toJson }}
{{- end }}
topics:
  decisions: {{ .Values.topics.decisions | toJson }}
  wellbeing: {{ .Values.topics.wellbeing | toJson }}
  audit: {{ .Values.topics.audit | toJson }}
  dead_letter: {{ .Values.topics.deadLetter | toJson }}
  ledgers: {{ .Values.topics.ledgers | toJson }}
{{- if or (eq .Values.mode "fleet") (ne .Values.topics.review "modq.review") }}
  review: {{ .Values.topics.review | toJson }}
{{- end }}
decided:
  retention_hours: {{ .Values.decided.retentionHours | toJson }}
  max_entries: {{ .Values.decided.maxEntries | toJson }}
  auto_verdicts: {{ .Values.decided.autoVerdicts | toJson }}
  near_distance: {{ .Values.decided.nearDistance | toJson }}
media:
  max_input_bytes: {{ .Values.media.maxInputBytes | toJson }}
  max_pixels: {{ .Values.media.maxPixels | toJson }}
  max_side: {{ .Values.media.maxSide | toJson }}
  display_size: {{ .Values.media.displaySize | toJson }}
  format: {{ .Values.media.format | toJson }}
  quality: {{ .Values.media.quality | toJson }}
  deadline_ms: {{ .Values.media.deadlineMs | toJson }}
  max_jpeg_scans: {{ .Values.media.maxJpegScans | toJson }}
sandbox:
  enabled: {{ .Values.sandbox.enabled | toJson }}
  memory_mb: {{ .Values.sandbox.memoryMb | toJson }}
  timeout_ms: {{ .Values.sandbox.timeoutMs | toJson }}
  cpu_seconds: {{ .Values.sandbox.cpuSeconds | toJson }}
  max_items: {{ .Values.sandbox.maxItems | toJson }}
fetch:
  file_root: ""
  allowed_hosts: {{ .Values.fetch.allowedHosts | toJson }}
  max_bytes: {{ .Values.fetch.maxBytes | toJson }}
  timeout_ms: {{ .Values.fetch.timeoutMs | toJson }}
banks: {{ .Values.banks | toJson }}
http:
  lease_seconds: {{ .Values.http.leaseSeconds | toJson }}
  threads: {{ .Values.http.threads | toJson }}
  max_connections: {{ .Values.http.maxConnections | toJson }}
  per_ip_connections: {{ .Values.http.perIpConnections | toJson }}
  request_timeout_seconds: {{ .Values.http.requestTimeoutSeconds | toJson }}
  qa_sample_rate: {{ .Values.http.qaSampleRate | toJson }}
  static_dir: /usr/share/modq/web
jwt:
  issuer: {{ .Values.jwt.issuer | toJson }}
  audience: {{ .Values.jwt.audience | toJson }}
  algorithms: {{ .Values.jwt.algorithms | toJson }}
log:
  level: {{ .Values.worker.logLevel | toJson }}
{{- end }}

{{/* Refuses values the schema cannot express (it checks each value alone). */}}
{{- define "modq.validate" -}}
{{- if and .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled }}
{{- fail "autoscaling: enable at most one of hpa and keda (both would fight over replicas)" }}
{{- end }}
{{- if eq .Values.mode "fleet" }}
{{- if or .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled }}
{{- fail "mode fleet: autoscaling.hpa and autoscaling.keda are for mode single; scale the prepare pods with prepare.autoscaling (the desk is never autoscaled)" }}
{{- end }}
{{- if and .Values.prepare.autoscaling.hpa.enabled .Values.prepare.autoscaling.keda.enabled }}
{{- fail "prepare.autoscaling: enable at most one of hpa and keda (both would fight over replicas)" }}
{{- end }}
{{- end }}
{{- if eq .Values.consumer.groupId .Values.consumer.deskGroupId }}
{{- fail "consumer.deskGroupId must differ from consumer.groupId (modq-worker refuses the same group in every role)" }}
{{- end }}
{{- if not (or .Values.jwt.hs256Secret.name .Values.jwt.jwksSecret.name) }}
{{- fail "jwt: name an existing Secret in jwt.hs256Secret.name or jwt.jwksSecret.name (the review API refuses to serve without key material)" }}
{{- end }}
{{- if and (has "HS256" .Values.jwt.algorithms) (not .Values.jwt.hs256Secret.name) }}
{{- fail "jwt.algorithms has HS256 but jwt.hs256Secret.name is empty" }}
{{- end }}
{{- if and (or (has "RS256" .Values.jwt.algorithms) (has "ES256" .Values.jwt.algorithms)) (not .Values.jwt.jwksSecret.name) }}
{{- fail "jwt.algorithms has RS256 or ES256 but jwt.jwksSecret.name is empty" }}
{{- end }}
{{- end }}
