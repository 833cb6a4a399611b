{{/*
NATS users. The server's authorization (users, permissions) is rendered by the umbrella
from files/nats-permissions.json, which vitrina_common.messaging.permissions writes; these
helpers give each pod its user, its password from the users Secret, and the NATS server its
password variables. They run in any chart's context (the NATS subchart's too), so they read
only .Release and global.vitrina.
*/}}

{{/* The users of the permission table; a test keeps them equal to the Python table's. */}}
{{- define "vitrina.natsUsers" -}}bot worker provision backup admin{{- end -}}

{{/* The variable nats-server reads a user's password from: VITRINA_NATS_BOT_PASSWORD. */}}
{{- define "vitrina.natsPasswordVariable" -}}
{{- printf "VITRINA_NATS_%s_PASSWORD" (upper .) -}}
{{- end -}}

{{- define "vitrina.natsAuthConfigMap" -}}
{{- printf "%s-nats-auth" .Release.Name -}}
{{- end -}}

{{/* The NATS container's password variables, each from its key of the users Secret. */}}
{{- define "vitrina.natsServerEnv" -}}
{{- $secret := include "vitrina.natsUsersSecret" . -}}
{{- range $user := splitList " " (include "vitrina.natsUsers" .) }}
{{ include "vitrina.natsPasswordVariable" $user }}:
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $user }}
{{- end }}
{{- end -}}

{{/*
A service's credentials. With the umbrella's global.vitrina.nats.auth.enabled, each service
connects as the NATS user named like its chart (bot, worker), its password the key of that
name in the users Secret (README "NATS users and permissions"). A chart's own nats.user and
nats.passwordSecret win, e.g. when installed alone.
*/}}
{{- define "vitrina.natsAuthShared" -}}
{{- dig "nats" "auth" dict (include "vitrina.shared" . | fromYaml) | toYaml -}}
{{- end -}}

{{/* The users Secret: one password per user (bot, worker, provision, admin). */}}
{{- define "vitrina.natsUsersSecret" -}}
{{- $auth := include "vitrina.natsAuthShared" . | fromYaml -}}
{{- include "vitrina.pick" (list . $auth.existingSecret (printf "%s-nats-users" .Release.Name)) -}}
{{- end -}}

{{/* Empty for a chart without NATS settings (the API, which never connects to NATS). */}}
{{- define "vitrina.natsUser" -}}
{{- if hasKey .Values "nats" -}}
{{- $auth := include "vitrina.natsAuthShared" . | fromYaml -}}
{{- include "vitrina.pick" (list . .Values.nats.user (ternary .Chart.Name "" (not (not $auth.enabled)))) -}}
{{- end -}}
{{- end -}}

{{- define "vitrina.natsPasswordSecretName" -}}
{{- if hasKey .Values "nats" -}}
{{- $auth := include "vitrina.natsAuthShared" . | fromYaml -}}
{{- $shared := ternary (include "vitrina.natsUsersSecret" .) "" (not (not $auth.enabled)) -}}
{{- include "vitrina.pick" (list . .Values.nats.passwordSecret.name $shared) -}}
{{- end -}}
{{- end -}}

{{- define "vitrina.natsPasswordSecretKey" -}}
{{- include "vitrina.pick" (list . .Values.nats.passwordSecret.key (include "vitrina.natsUser" .)) -}}
{{- end -}}

{{/*
vitrina.natsLimits: (dict "limits" dict) -> APP_CONF__NATS__<NAME>_MAX_BYTES for
each limit set (chatLocks -> CHAT_LOCKS), in bytes; a limit is bytes or a quantity with
Ki, Mi or Gi ("11Gi"). Every process that provisions or checks the topology must see the
same ones: the services compare the streams with them at start.
*/}}
{{- define "vitrina.natsLimits" -}}
{{- $env := dict -}}
{{- range $name, $size := .limits -}}
{{- $_ := set $env (printf "APP_CONF__NATS__%s_MAX_BYTES" (snakecase $name | upper)) (include "vitrina.bytes" $size) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{- define "vitrina.bytes" -}}
{{- $text := toString . -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 -}}
{{- if kindIs "float64" . -}}
{{- int64 . -}}
{{- else if regexMatch "^[0-9]+(Ki|Mi|Gi)?$" $text -}}
{{- $number := regexFind "^[0-9]+" $text -}}
{{- mul (int64 $number) (get $units (trimPrefix $number $text)) -}}
{{- else -}}
{{- fail (printf "nats limits: %q is not a size (bytes, or a number with Ki, Mi or Gi)" $text) -}}
{{- end -}}
{{- end -}}

{{/* Local nats.limits over the umbrella's global.vitrina.nats.limits. */}}
{{- define "vitrina.natsLimitsOf" -}}
{{- if hasKey .Values "nats" -}}
{{- $shared := dig "nats" "limits" dict (include "vitrina.shared" . | fromYaml) -}}
{{- include "vitrina.natsLimits" (dict "limits" (merge (dict) (.Values.nats.limits | default dict) $shared)) -}}
{{- end -}}
{{- end -}}

