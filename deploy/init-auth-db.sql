-- The second database: basic auth's users, roles and permissions.
CREATE DATABASE mlflow_auth OWNER mlflow;
