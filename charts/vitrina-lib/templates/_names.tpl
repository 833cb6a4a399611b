{{/*
Names and labels. Every template here takes the calling chart's root context, so
.Chart.Name is "bot" or "worker" and the same helpers serve both service charts.
*/}}

{{- define "vitrina.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vitrina.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vitrina.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vitrina.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vitrina.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vitrina.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vitrina
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vitrina.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vitrina.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference; the tag defaults to the chart's appVersion, a digest pins it. */}}
{{- define "vitrina.image" -}}
{{- $tag := .image.tag | default .appVersion | toString -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
vitrina.pick: (list $ctx value...) renders the first non-empty value through tpl, so a
value may name the release ("{{ .Release.Name }}-nats"). Service charts pass their own
value first and the umbrella's shared global.vitrina value second: local wins.
*/}}
{{- define "vitrina.pick" -}}
{{- $ctx := first . -}}
{{- $picked := "" -}}
{{- range (rest .) -}}
{{- if and (not $picked) (not (empty .)) -}}
{{- $picked = toString . -}}
{{- end -}}
{{- end -}}
{{- tpl $picked $ctx -}}
{{- end -}}

{{/* The umbrella's shared settings (global.vitrina), an empty dict when installed alone. */}}
{{- define "vitrina.shared" -}}
{{- dig "vitrina" dict (.Values.global | default dict) | toYaml -}}
{{- end -}}
