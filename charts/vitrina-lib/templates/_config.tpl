{{/*
Settings reach the process two ways, both read by vitrina_common.config:
- plain settings as APP_CONF__* variables from a ConfigMap;
- secrets as files named like their variable in APP_CONF_SECRETS_DIR, from one projected
  volume: the settings Secret (keys named like variables), the NATS password from the
  users Secret (_nats.tpl) and the database DSN from a Secret of any shape (e.g.
  CloudNativePG's "<cluster>-app", key "uri"). Files keep secrets out of `kubectl
  describe` and the process environment, and rotate in place.
*/}}

{{- define "vitrina.secretsDir" -}}/run/secrets/vitrina{{- end -}}

{{/* Where the spool emptyDir is mounted: APP_CONF__<SERVICE>__TEMP_DIR. */}}
{{- define "vitrina.spoolDir" -}}/var/spool/vitrina{{- end -}}

{{- define "vitrina.secretName" -}}
{{- $shared := include "vitrina.shared" . | fromYaml -}}
{{- /* secret.shared=false (the API): only the chart's own Secret, never the shared one. */ -}}
{{- $sharedName := ternary $shared.existingSecret "" (dig "shared" true .Values.secret) -}}
{{- $name := include "vitrina.pick" (list . .Values.secret.existingSecret $sharedName) -}}
{{- if $name -}}
{{- $name -}}
{{- else if .Values.secret.values -}}
{{- include "vitrina.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "vitrina.dsnSecretName" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).database | default dict -}}
{{- include "vitrina.pick" (list . .Values.database.dsnSecret.name (dig "dsnSecret" "name" "" $shared)) -}}
{{- end -}}

{{- define "vitrina.dsnSecretKey" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).database | default dict -}}
{{- include "vitrina.pick" (list . .Values.database.dsnSecret.key (dig "dsnSecret" "key" "" $shared) "uri") -}}
{{- end -}}

{{- define "vitrina.natsUrl" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).nats | default dict -}}
{{- include "vitrina.pick" (list . .Values.nats.url $shared.url "nats://nats:4222") -}}
{{- end -}}

{{- define "vitrina.streamReplicas" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).nats | default dict -}}
{{- include "vitrina.pick" (list . .Values.nats.streamReplicas $shared.streamReplicas 1) -}}
{{- end -}}

{{/* The projected settings volume, or nothing when no secret is configured at all. */}}
{{- define "vitrina.secretsVolume" -}}
{{- $secret := include "vitrina.secretName" . -}}
{{- $dsn := include "vitrina.dsnSecretName" . -}}
{{- $nats := include "vitrina.natsPasswordSecretName" . -}}
{{- if or $secret $dsn $nats -}}
- name: settings
  projected:
    defaultMode: 288  # 0440: owner root, readable through the pod's fsGroup
    sources:
      {{- if $secret }}
      - secret:
          name: {{ $secret }}
      {{- end }}
      {{- if $nats }}
      - secret:
          name: {{ $nats }}
          items:
            - key: {{ include "vitrina.natsPasswordSecretKey" . }}
              path: APP_CONF__NATS__PASSWORD
      {{- end }}
      {{- if $dsn }}
      - secret:
          name: {{ $dsn }}
          items:
            - key: {{ include "vitrina.dsnSecretKey" . }}
              path: APP_CONF__DB__DSN
      {{- end }}
{{- end }}
{{- end -}}

{{- define "vitrina.secretsMount" -}}
{{- if or (include "vitrina.secretName" .) (include "vitrina.dsnSecretName" .) (include "vitrina.natsPasswordSecretName" .) -}}
- name: settings
  mountPath: {{ include "vitrina.secretsDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
vitrina.configData: (dict "ctx" $ "extra" dict) -> the ConfigMap's data. `extra` holds the
chart's own variables; config.extraEnv comes last so an operator can set any variable.
*/}}
{{- define "vitrina.configData" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $data := dict
  "APP_CONF_SECRETS_DIR" (include "vitrina.secretsDir" $ctx)
  "APP_CONF__TELEMETRY__LOG_LEVEL" $v.config.logLevel
  "APP_CONF__TELEMETRY__LOG_FORMAT" $v.config.logFormat
  (printf "APP_CONF__%s__HEALTH_PORT" (upper $ctx.Chart.Name)) (toString $v.healthPort)
-}}
{{- if hasKey $v "spool" }}
{{- $_ := set $data (printf "APP_CONF__%s__TEMP_DIR" (upper $ctx.Chart.Name)) (include "vitrina.spoolDir" $ctx) -}}
{{- end }}
{{- /* The API has no shop name to show and no NATS to reach. */}}
{{- with $v.config.shopName }}
{{- $_ := set $data "APP_CONF__SHOP__NAME" . -}}
{{- end }}
{{- if hasKey $v "nats" }}
{{- $_ := set $data "APP_CONF__NATS__URL" (include "vitrina.natsUrl" $ctx) -}}
{{- $_ := set $data "APP_CONF__NATS__STREAM_REPLICAS" (include "vitrina.streamReplicas" $ctx) -}}
{{- end }}
{{- with $v.config.otlpEndpoint }}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end }}
{{- with include "vitrina.natsUser" $ctx }}
{{- $_ := set $data "APP_CONF__NATS__USER" . -}}
{{- end }}
{{- $data = merge (dict) $v.config.extraEnv .extra (include "vitrina.natsLimitsOf" $ctx | fromYaml) $data -}}
{{- $strings := dict -}}
{{- range $key, $value := $data }}
{{- $_ := set $strings $key (toString $value) -}}
{{- end }}
{{- toYaml $strings -}}
{{- end -}}

{{- define "vitrina.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "vitrina.fullname" .ctx }}
  labels:
    {{- include "vitrina.labels" .ctx | nindent 4 }}
data:
  {{- include "vitrina.configData" . | nindent 2 }}
{{- end -}}

{{- define "vitrina.secret" -}}
{{- if and .Values.secret.values (eq (include "vitrina.secretName" .) (include "vitrina.fullname" .)) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "vitrina.fullname" . }}
  labels:
    {{- include "vitrina.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{- range $key, $value := .Values.secret.values }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
{{- end }}
{{- end -}}
