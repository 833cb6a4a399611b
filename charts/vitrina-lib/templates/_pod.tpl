{{/*
vitrina.podTemplate: (dict "ctx" $ "ports" list "extraConfig" dict "env" list) -> a
Deployment's pod template. `ports` are extra named container ports (the bot's webhook
port); the health port is always there, named "health", and both probes use it by name.
`env` are variables of the app container that a ConfigMap cannot hold (Downward API).
*/}}
{{- define "vitrina.podTemplate" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
metadata:
  labels:
    {{- include "vitrina.selectorLabels" $ctx | nindent 4 }}
    app.kubernetes.io/part-of: vitrina
    # What the NATS and Postgres NetworkPolicies admit their clients by.
    app.kubernetes.io/component: {{ $ctx.Chart.Name }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods when their settings change.
    checksum/config: {{ include "vitrina.configData" (dict "ctx" $ctx "extra" .extraConfig) | sha256sum }}
    {{- with $v.secret.values }}
    checksum/secret: {{ toYaml . | sha256sum }}
    {{- end }}
    {{- if $v.metrics.podAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ $v.healthPort | quote }}
    prometheus.io/path: /metrics
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "vitrina.serviceAccountName" $ctx }}
  # The services talk to no Kubernetes API.
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $v.waitForSchema.enabled }}
  initContainers:
    # Never serve against an older schema: block until the migration Job reached this
    # build's head revision (the Job runs beside the pods, not as a Helm hook).
    - name: wait-for-schema
      {{- include "vitrina.containerBase" $ctx | nindent 6 }}
      command: ["python", "-m", "vitrina_common.ops", "wait-for-schema", "--timeout", {{ $v.waitForSchema.timeoutSeconds | quote }}]
      resources:
        {{- toYaml $v.waitForSchema.resources | nindent 8 }}
  {{- end }}
  containers:
    - name: {{ $ctx.Chart.Name }}
      {{- include "vitrina.containerBase" $ctx | nindent 6 }}
      ports:
        - name: health
          containerPort: {{ $v.healthPort }}
          protocol: TCP
        {{- with .ports }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        {{- toYaml $v.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: health
        {{- toYaml $v.probes.readiness | nindent 8 }}
      {{- with .env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- if hasKey $v "spool" }}
    # Downloads and import ZIPs spooled to disk instead of memory (APP_CONF__*__TEMP_DIR).
    # On the node's disk, never medium: Memory, which would count against the memory limit.
    # The API has no files to spool, hence no volume.
    - name: spool
      emptyDir:
        sizeLimit: {{ $v.spool.sizeLimit }}
    {{- end }}
    {{- with include "vitrina.secretsVolume" $ctx }}
    {{- . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Image, settings and hardening shared by the app container and its init container. */}}
{{- define "vitrina.containerBase" -}}
image: {{ include "vitrina.image" (dict "image" .Values.image "appVersion" .Chart.AppVersion) }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "vitrina.fullname" . }}
volumeMounts:
  # The only writable paths: the root filesystem is read-only.
  - name: tmp
    mountPath: /tmp
  {{- if hasKey .Values "spool" }}
  - name: spool
    mountPath: {{ include "vitrina.spoolDir" . }}
  {{- end }}
  {{- with include "vitrina.secretsMount" . }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}
