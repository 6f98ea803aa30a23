{{/* Names and labels. */}}
{{- define "sortie-recording.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sortie-recording.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sortie-recording.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sortie-recording.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sortie-recording.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sortie-recording.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "sortie-recording.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sortie-recording.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sortie-recording.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "sortie-recording.claimName" -}}
{{- default (printf "%s-recordings" (include "sortie-recording.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* True ("true") when the recordings live on a volume of the pod: the local backend. */}}
{{- define "sortie-recording.localStorage" -}}
{{- if eq .Values.recording.storageBackend "local" -}}true{{- end -}}
{{- end -}}

{{/*
Refuses values that would start pods the service itself refuses, or that lose
recordings, with a sentence naming the value to change.
*/}}
{{- define "sortie-recording.validate" -}}
{{- $backend := .Values.recording.storageBackend -}}
{{- if not (has $backend (list "local" "s3")) -}}
{{- fail (printf "recording.storageBackend must be \"local\" or \"s3\", got %q" $backend) -}}
{{- end -}}
{{- if and (eq $backend "s3") (not .Values.recording.s3.bucket) -}}
{{- fail "recording.s3.bucket is required when recording.storageBackend is \"s3\"" -}}
{{- end -}}
{{- $sse := .Values.s3Encryption.sse -}}
{{- if not (has $sse (list "" "AES256" "aws:kms")) -}}
{{- fail (printf "s3Encryption.sse must be empty, \"AES256\" or \"aws:kms\", got %q" $sse) -}}
{{- end -}}
{{- if and .Values.s3Encryption.kmsKeyId (ne $sse "aws:kms") -}}
{{- fail "s3Encryption.kmsKeyId is only for s3Encryption.sse \"aws:kms\"" -}}
{{- end -}}
{{- if not (or .Values.auth.existingSecret .Values.auth.jwksUrl) -}}
{{- fail "set auth.existingSecret (a Secret holding the HS256 JWT secret) or auth.jwksUrl: the service refuses to start without authentication" -}}
{{- end -}}
{{- if and .Values.recording.enabled (not .Values.publicUrl) -}}
{{- fail "set publicUrl (e.g. https://rec.example.com) when recording.enabled: in production the service builds its upload and download URLs on it, never on the request's Host header" -}}
{{- end -}}
{{- if not .Values.database.existingSecret -}}
{{- fail "set database.existingSecret (a Secret holding DATABASE_URL): the chart runs on PostgreSQL, not on the embedded database" -}}
{{- end -}}
{{- if and (eq $backend "local") (gt (int .Values.replicaCount) 1) -}}
{{- if not .Values.persistence.enabled -}}
{{- fail "the local backend with replicaCount > 1 needs persistence.enabled=true with a ReadWriteMany volume (or use recording.storageBackend=s3)" -}}
{{- end -}}
{{- if not (has "ReadWriteMany" .Values.persistence.accessModes) -}}
{{- fail "the local backend with replicaCount > 1 needs a ReadWriteMany volume: set persistence.accessModes to [ReadWriteMany] (and a storage class that offers it), or use recording.storageBackend=s3" -}}
{{- end -}}
{{- end -}}
{{- end -}}
