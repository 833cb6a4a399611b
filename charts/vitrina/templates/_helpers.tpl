{{/* Helpers of the umbrella's own resources: the settings Secret and the two Jobs. */}}

{{- define "umbrella.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vitrina
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "umbrella.secretName" -}}
{{- include "vitrina.pick" (list . .Values.global.vitrina.existingSecret) -}}
{{- end -}}

{{/* Jobs run the worker image (both images carry alembic and the ops commands). */}}
{{- define "umbrella.jobImage" -}}
{{- $image := merge (dict) (.Values.jobs.image | default dict) .Values.worker.image -}}
{{- include "vitrina.image" (dict "image" $image "appVersion" .Chart.AppVersion) -}}
{{- end -}}

{{/*
umbrella.job: (dict "ctx" $ "component" "migrate" "timeout" N "script" "..." "database" bool
"nats" bool) -> a Job
named per release revision. Not a Helm hook: a pre-install hook would run before the
subchart's Postgres and NATS exist, and a post-install hook would wait behind app pods
that wait for this very Job. As a plain resource it starts with everything else, retries
until its server answers, and `helm upgrade --wait --wait-for-jobs` waits for it. Job
specs are immutable, hence one name per revision; Helm deletes the previous revision's
Job at the next upgrade.
*/}}
{{- define "umbrella.job" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $dsn := "" -}}
{{- if .database -}}
{{- $dsn = include "vitrina.pick" (list $ctx $v.global.vitrina.database.dsnSecret.name) -}}
{{- end -}}
{{- $secret := include "umbrella.secretName" $ctx -}}
{{- /* The provision Job connects to NATS as the provision user; migrations do not connect. */}}
{{- $nats := "" -}}
{{- if and .nats $v.global.vitrina.nats.auth.enabled -}}
{{- $nats = include "vitrina.natsUsersSecret" $ctx -}}
{{- end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s-r%d" $ctx.Release.Name .component (int $ctx.Release.Revision) | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "umbrella.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  backoffLimit: {{ $v.jobs.backoffLimit }}
  activeDeadlineSeconds: {{ add .timeout 120 }}
  {{- with $v.jobs.ttlSecondsAfterFinished }}
  ttlSecondsAfterFinished: {{ . }}
  {{- end }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ $ctx.Release.Name }}
        app.kubernetes.io/component: {{ .component }}
        app.kubernetes.io/part-of: vitrina
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        {{- toYaml $v.jobs.podSecurityContext | nindent 8 }}
      {{- with $v.jobs.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "umbrella.jobImage" $ctx }}
          imagePullPolicy: {{ $v.worker.image.pullPolicy | default "IfNotPresent" }}
          command: ["/bin/sh", "-c", {{ .script | quote }}]
          env:
            - {name: APP_CONF_SECRETS_DIR, value: /run/secrets/vitrina}
            - {name: APP_CONF__TELEMETRY__LOG_FORMAT, value: json}
            - {name: APP_CONF__TELEMETRY__LOG_LEVEL, value: {{ $v.jobs.logLevel | quote }}}
            - {name: APP_CONF__NATS__URL, value: {{ include "vitrina.pick" (list $ctx $v.global.vitrina.nats.url "nats://nats:4222") | quote }}}
            - {name: APP_CONF__NATS__STREAM_REPLICAS, value: {{ include "vitrina.pick" (list $ctx $v.global.vitrina.nats.streamReplicas 1) | quote }}}
            - {name: TIMEOUT_S, value: {{ .timeout | quote }}}
            {{- if .nats }}
            {{- if $nats }}
            - {name: APP_CONF__NATS__USER, value: provision}
            {{- end }}
            {{- range $name, $bytes := include "vitrina.natsLimits" (dict "limits" $v.global.vitrina.nats.limits) | fromYaml }}
            - {name: {{ $name }}, value: {{ $bytes | quote }}}
            {{- end }}
            {{- end }}
          securityContext:
            {{- toYaml $v.jobs.securityContext | nindent 12 }}
          resources:
            {{- toYaml $v.jobs.resources | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- if or $secret $dsn $nats }}
            - {name: settings, mountPath: /run/secrets/vitrina, readOnly: true}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if or $secret $dsn $nats }}
        - name: settings
          projected:
            defaultMode: 288  # 0440, readable through the pod's fsGroup
            sources:
              {{- if $secret }}
              - secret:
                  name: {{ $secret }}
              {{- end }}
              {{- if $nats }}
              - secret:
                  name: {{ $nats }}
                  items:
                    - key: provision
                      path: APP_CONF__NATS__PASSWORD
              {{- end }}
              {{- if $dsn }}
              - secret:
                  name: {{ $dsn }}
                  items:
                    - key: {{ include "vitrina.pick" (list $ctx $v.global.vitrina.database.dsnSecret.key "uri") }}
                      path: APP_CONF__DB__DSN
              {{- end }}
        {{- end }}
      {{- with $v.jobs.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.jobs.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* global.vitrina.networkPolicy with its templates rendered ("{{ .Release.Name }}"). */}}
{{- define "umbrella.netpol" -}}
{{- tpl (toYaml .Values.global.vitrina.networkPolicy) . -}}
{{- end -}}
