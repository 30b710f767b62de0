#!/usr/bin/env bash
# Runs once, on an empty volume, as the image's superuser. Two logins, neither a superuser:
# the owner (MIGRATION_DATABASE_URL: owns the database, runs migrations) and the service
# (DATABASE_URL: granted only conversations_app, whose rights the migrations grant).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$CONVERSATIONS_OWNER_PASSWORD" -v service_password="$CONVERSATIONS_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE conversations_owner LOGIN PASSWORD :'owner_password';
CREATE DATABASE conversations OWNER conversations_owner;
CREATE ROLE conversations_app NOLOGIN;
CREATE ROLE conversations_service LOGIN PASSWORD :'service_password';
GRANT conversations_app TO conversations_service;
SQL
