{{- define "bot.webhook" -}}{{ eq .Values.mode "webhook" }}{{- end -}}

{{/* Telegram must reach the webhook over HTTPS: an explicit URL, else the Ingress host. */}}
{{- define "bot.webhookUrl" -}}
{{- with .Values.webhook -}}
{{- if .url -}}
{{- .url -}}
{{- else if and .ingress.enabled .ingress.host -}}
{{- printf "https://%s%s" .ingress.host .path -}}
{{- else -}}
{{- fail "bot: webhook mode needs webhook.url (or webhook.ingress.enabled with webhook.ingress.host)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The bot's own settings. APP_CONF__BOT__MODE and the webhook variables are read by the
app once webhook support lands; rendering them now keeps the chart ready for it. The
webhook secret token is a setting file: key APP_CONF__BOT__WEBHOOK_SECRET in the Secret.
*/}}
{{- define "bot.config" -}}
APP_CONF__BOT__MODE: {{ .Values.mode }}
{{- with .Values.config.botApiUrl }}
APP_CONF__BOT__API_URL: {{ . | quote }}
{{- end }}
{{- if eq (include "bot.webhook" .) "true" }}
APP_CONF__BOT__WEBHOOK_URL: {{ include "bot.webhookUrl" . | quote }}
APP_CONF__BOT__WEBHOOK_PORT: {{ .Values.webhook.port | quote }}
APP_CONF__BOT__WEBHOOK_PATH: {{ .Values.webhook.path | quote }}
{{- end }}
{{- end -}}

{{- define "bot.ports" -}}
{{- if eq (include "bot.webhook" .) "true" }}
- name: webhook
  containerPort: {{ .Values.webhook.port }}
  protocol: TCP
{{- end }}
{{- end -}}
