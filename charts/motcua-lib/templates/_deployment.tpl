{{/*
One Deployment for one process of one service.
Context: dict root (the chart's root context), service (name), component (grpc|worker|relay|callback),
         replicas, resources, command (list), probes (rendered YAML), ports (rendered YAML).
Secure defaults on every pod: non-root, read-only root filesystem, no capabilities,
no service-account token, probes and resources on every container.
*/}}
{{- define "motcua.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "motcua.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "motcua.labels" . | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "motcua.selectorLabels" . | nindent 6 }}
  {{- if eq .component "relay" }}
  strategy:
    type: Recreate  # one relay follows one log: never two at once during a rollout
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "motcua.labels" . | nindent 8 }}
      annotations:
        checksum/province-data: {{ include (print $root.Template.BasePath "/configmap-province.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ include "motcua.fullname" $root }}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .component }}
          image: {{ printf "%s/%s:%s" $root.Values.image.registry .service $root.Values.image.tag | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          env:
            {{- include "motcua.env" . | nindent 12 }}
          ports:
            {{- .ports | nindent 12 }}
          {{- .probes | nindent 10 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: province
              mountPath: /etc/motcua/province
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if and (eq .service "payment") $root.Values.paygov.url }}
            - name: paygov
              mountPath: /etc/motcua/paygov
              readOnly: true
            {{- end }}
            {{- if and (eq .service "payment") $root.Values.vietqr.bankSecretName }}
            - name: bank
              mountPath: /etc/motcua/bank
              readOnly: true
            {{- end }}
            {{- if and (eq .service "notification") $root.Values.notification.credentialsSecretName }}
            - name: notification-credentials
              mountPath: /etc/motcua/notification
              readOnly: true
            {{- end }}
            {{- if and (eq .service "workflow") $root.Values.keys.unitKeysSecret }}
            - name: unit-keys
              mountPath: /etc/motcua/unit-keys
              readOnly: true
            {{- end }}
            {{- /* Whole Secrets mounted (no subPath), so a renewed certificate reaches the edge. */}}
            {{- if and (eq .component "grpc") $root.Values.tls.existingSecret }}
            - name: tls
              mountPath: /etc/motcua/tls
              readOnly: true
            {{- if eq $root.Values.tls.clientAuth "required" }}
            - name: client-ca
              mountPath: /etc/motcua/client-ca
              readOnly: true
            - name: tls-client
              mountPath: /etc/motcua/tls-client
              readOnly: true
            {{- end }}
            {{- end }}
      volumes:
        - name: province
          configMap:
            name: {{ include "motcua.fullname" $root }}-province
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- /* Only payment's pods hold the gateway's shared secret. */}}
        {{- if and (eq .service "payment") $root.Values.paygov.url }}
        - name: paygov
          secret:
            secretName: {{ $root.Values.paygov.secretName }}
            defaultMode: 0440
        {{- end }}
        {{- /* ... and the bank's, for its credit notifications (VietQR transfers). */}}
        {{- if and (eq .service "payment") $root.Values.vietqr.bankSecretName }}
        - name: bank
          secret:
            secretName: {{ $root.Values.vietqr.bankSecretName }}
            defaultMode: 0440
        {{- end }}
        {{- /* Only notification's pods hold the messaging providers' keys and the receipts secret. */}}
        {{- if and (eq .service "notification") $root.Values.notification.credentialsSecretName }}
        - name: notification-credentials
          secret:
            secretName: {{ $root.Values.notification.credentialsSecretName }}
            defaultMode: 0440
        {{- end }}
        {{- /* Only workflow signs results: no other pod sees the units' keys. */}}
        {{- if and (eq .service "workflow") $root.Values.keys.unitKeysSecret }}
        - name: unit-keys
          secret:
            secretName: {{ $root.Values.keys.unitKeysSecret }}
            defaultMode: 0400
        {{- end }}
        {{- /* Only the gRPC edges hold the TLS key. */}}
        {{- if and (eq .component "grpc") $root.Values.tls.existingSecret }}
        - name: tls
          secret:
            secretName: {{ $root.Values.tls.existingSecret }}
            defaultMode: 0440
        {{- if eq $root.Values.tls.clientAuth "required" }}
        - name: client-ca
          secret:
            secretName: {{ $root.Values.tls.clientCASecret }}
            defaultMode: 0440
        - name: tls-client
          secret:
            secretName: {{ $root.Values.tls.clientSecret }}
            defaultMode: 0440
        {{- end }}
        {{- end }}
{{- end -}}

{{/* The environment every process reads (motcua_common/config/settings.py, telemetry.py). */}}
{{- define "motcua.env" -}}
{{- $v := .root.Values -}}
{{- $full := include "motcua.fullname" .root -}}
- name: MOTCUA_PROVINCE
  value: {{ $v.province.slug | quote }}
- name: MOTCUA_ENVIRONMENT
  value: {{ $v.environment | quote }}
- name: MOTCUA_CLOCK
  value: {{ $v.clock | quote }}
- name: MOTCUA_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: MOTCUA_DATA_DIR
  value: /etc/motcua/province
- name: MOTCUA_PG_HOST
  value: {{ ternary $v.postgresql.external.host (printf "%s-pg-rw" $full) (eq $v.postgresql.mode "external") | quote }}
- name: MOTCUA_PG_PORT
  value: {{ ternary $v.postgresql.external.port 5432 (eq $v.postgresql.mode "external") | quote }}
- name: MOTCUA_PG_DBNAME
  value: {{ $v.postgresql.database | quote }}
{{- $pgSecret := include "motcua.postgresqlSecret" . }}
{{- $mqSecret := include "motcua.rabbitmqSecret" . }}
- name: MOTCUA_PG_USER
  valueFrom:
    secretKeyRef: {name: {{ $pgSecret }}, key: username}
- name: MOTCUA_PG_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $pgSecret }}, key: password}
- name: MOTCUA_AMQP_USER
  valueFrom:
    secretKeyRef: {name: {{ $mqSecret }}, key: username}
- name: MOTCUA_AMQP_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $mqSecret }}, key: password}
- name: MOTCUA_AMQP_URI
  value: {{ printf "amqp://$(MOTCUA_AMQP_USER):$(MOTCUA_AMQP_PASSWORD)@%s:%v/%s" (ternary $v.rabbitmq.external.host (printf "%s-mq" $full) (eq $v.rabbitmq.mode "external")) (ternary $v.rabbitmq.external.port 5672 (eq $v.rabbitmq.mode "external")) $v.rabbitmq.vhost | quote }}
- name: MOTCUA_SUBJECT_KEK
  valueFrom:
    secretKeyRef: {name: {{ $v.keys.existingSecret }}, key: subject-kek}
- name: MOTCUA_AUDIT_SIGNING_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.keys.existingSecret }}, key: audit-signing-key}
{{- if and (eq .service "workflow") $v.keys.unitKeysSecret }}
- name: MOTCUA_UNIT_KEYS_DIR
  value: /etc/motcua/unit-keys
{{- end }}
- name: MOTCUA_METRICS_PORT
  value: "9100"
- name: MOTCUA_METRICS_ADDRESS
  value: "0.0.0.0"
- name: MOTCUA_TRACES_EXPORTER
  value: {{ $v.telemetry.tracesExporter | quote }}
- name: MOTCUA_TRACES_SAMPLE_RATIO
  value: {{ $v.telemetry.sampleRatio | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.telemetry.otlpEndpoint | quote }}
- name: {{ printf "MOTCUA_%s_GRPC_ADDRESS" (upper .service) }}
  value: "0.0.0.0:50051"
{{- if eq .component "callback" }}
- name: {{ printf "MOTCUA_%s_CALLBACK_ADDRESS" (upper .service) }}
  value: "0.0.0.0:8080"
{{- end }}
{{- if and (eq .service "payment") $v.paygov.url }}
- name: MOTCUA_PAYGOV_URL
  value: {{ $v.paygov.url | quote }}
- name: MOTCUA_PAYGOV_PARTNER_CODE
  value: {{ $v.paygov.partnerCode | quote }}
- name: MOTCUA_PAYGOV_ACCESS_KEY
  value: {{ $v.paygov.accessKey | quote }}
- name: MOTCUA_PAYGOV_SECRET_FILE
  value: /etc/motcua/paygov/secret
- name: MOTCUA_PAYMENT_RETURN_URL
  value: {{ $v.paygov.returnUrl | quote }}
{{- end }}
{{- if and (eq .service "payment") $v.vietqr.account }}
- name: MOTCUA_VIETQR_BANK_BIN
  value: {{ $v.vietqr.bankBin | quote }}
- name: MOTCUA_VIETQR_ACCOUNT
  value: {{ $v.vietqr.account | quote }}
{{- if $v.vietqr.bankSecretName }}
- name: MOTCUA_BANK_SECRET_FILE
  value: /etc/motcua/bank/secret
{{- end }}
{{- end }}
{{- if eq .service "notification" }}
{{- with $v.notification }}
- name: MOTCUA_NOTIFICATION_CHANNELS
  value: {{ join "," .channels | quote }}
- name: MOTCUA_NOTIFICATION_FALLBACK_CHANNELS
  value: {{ join "," .fallbackChannels | quote }}
- name: MOTCUA_SMTP_ADDRESS
  value: {{ .smtpAddress | quote }}
- name: MOTCUA_SMTP_SENDER
  value: {{ .smtpSender | quote }}
- name: MOTCUA_MAIL_DOMAIN
  value: {{ .mailDomain | quote }}
- name: MOTCUA_SMS_GATEWAY_URL
  value: {{ .smsGatewayUrl | quote }}
- name: MOTCUA_SMS_BRANDNAME
  value: {{ .smsBrandname | quote }}
- name: MOTCUA_ZNS_URL
  value: {{ .znsUrl | quote }}
- name: MOTCUA_NOTIFICATION_RATING_URL
  value: {{ .ratingUrl | quote }}
{{- if .credentialsSecretName }}
- name: MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE
  value: /etc/motcua/notification/receipts-secret
- name: MOTCUA_SMS_API_KEY
  valueFrom: {secretKeyRef: {name: {{ .credentialsSecretName }}, key: sms-api-key, optional: true}}
- name: MOTCUA_ZNS_ACCESS_TOKEN
  valueFrom: {secretKeyRef: {name: {{ .credentialsSecretName }}, key: zns-access-token, optional: true}}
{{- end }}
{{- end }}
{{- end }}
{{- with $v.oidc }}
{{- if .issuer }}
- name: MOTCUA_OIDC_ISSUER
  value: {{ .issuer | quote }}
{{- end }}
- name: MOTCUA_OIDC_AUDIENCE
  value: {{ .audience | quote }}
{{- if .jwksUrl }}
- name: MOTCUA_OIDC_JWKS_URL
  value: {{ .jwksUrl | quote }}
{{- end }}
- name: MOTCUA_OIDC_CLOCK_SKEW_SECONDS
  value: {{ .clockSkewSeconds | quote }}
{{- end }}
{{- if eq .component "grpc" }}
{{- if $v.oidc.clientSecret }}
- name: MOTCUA_OIDC_CLIENT_ID
  valueFrom:
    secretKeyRef: {name: {{ $v.oidc.clientSecret }}, key: client-id}
- name: MOTCUA_OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $v.oidc.clientSecret }}, key: client-secret}
{{- end }}
{{- if $v.tls.existingSecret }}
- name: MOTCUA_GRPC_TLS_CERT_FILE
  value: /etc/motcua/tls/tls.crt
- name: MOTCUA_GRPC_TLS_KEY_FILE
  value: /etc/motcua/tls/tls.key
- name: MOTCUA_GRPC_TLS_CLIENT_AUTH
  value: {{ $v.tls.clientAuth | quote }}
- name: MOTCUA_HEALTH_TLS_CA_FILE
  value: /etc/motcua/tls/ca.crt
- name: MOTCUA_HEALTH_TLS_SERVER_NAME
  value: {{ $v.tls.serverName | quote }}
{{- if eq $v.tls.clientAuth "required" }}
- name: MOTCUA_GRPC_TLS_CLIENT_CA_FILE
  value: /etc/motcua/client-ca/ca.crt
- name: MOTCUA_HEALTH_TLS_CERT_FILE
  value: /etc/motcua/tls-client/tls.crt
- name: MOTCUA_HEALTH_TLS_KEY_FILE
  value: /etc/motcua/tls-client/tls.key
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The Secret of the PostgreSQL role one service's pods use: its own (postgresql.serviceCredentials) or the province's. */}}
{{- define "motcua.postgresqlSecret" -}}
{{- $v := .root.Values -}}
{{- $full := include "motcua.fullname" .root -}}
{{- $external := eq $v.postgresql.mode "external" -}}
{{- if $v.postgresql.serviceCredentials -}}
{{- printf "%s-%s" (ternary $v.postgresql.existingSecret (printf "%s-pg" $full) $external) .service -}}
{{- else -}}
{{- ternary $v.postgresql.existingSecret (printf "%s-pg-app" $full) $external -}}
{{- end -}}
{{- end -}}

{{/* The Secret of the broker user one service's pods use: its own (rabbitmq.serviceCredentials) or the province's. */}}
{{- define "motcua.rabbitmqSecret" -}}
{{- $v := .root.Values -}}
{{- $full := include "motcua.fullname" .root -}}
{{- $external := eq $v.rabbitmq.mode "external" -}}
{{- if $v.rabbitmq.serviceCredentials -}}
{{- ternary (printf "%s-%s" $v.rabbitmq.existingSecret .service) (printf "%s-mq-%s-user-credentials" $full .service) $external -}}
{{- else -}}
{{- ternary $v.rabbitmq.existingSecret (printf "%s-mq-user-user-credentials" $full) $external -}}
{{- end -}}
{{- end -}}

{{/* The pod spec of a one-off Job (schema setup, rebuild), with the same secure defaults. */}}
{{- define "motcua.jobPod" -}}
{{- $root := .root -}}
restartPolicy: OnFailure
serviceAccountName: {{ include "motcua.fullname" $root }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: {{ .ctx.component }}
    image: {{ printf "%s/%s:%s" $root.Values.image.registry .ctx.service $root.Values.image.tag | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command:
      {{- toYaml .command | nindent 6 }}
    env:
      {{- include "motcua.env" .ctx | nindent 6 }}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: "1", memory: 512Mi}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
    volumeMounts:
      - {name: tmp, mountPath: /tmp}
      {{- if .withProvince }}
      - {name: province, mountPath: /etc/motcua/province, readOnly: true}
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: 64Mi}
  {{- if .withProvince }}
  - name: province
    configMap:
      name: {{ include "motcua.fullname" $root }}-province
  {{- end }}
{{- end -}}
