-- A REST-auth users table, written by gen_restauth_fixtures.py with
-- passlib 1.7.4 and Werkzeug 2.2.2. Do not edit by hand.
CREATE TABLE users (
	id INTEGER NOT NULL,
	username VARCHAR(32),
	password_hash VARCHAR(128),
	PRIMARY KEY (id)
);
CREATE INDEX ix_users_username ON users (username);
INSERT INTO users (id, username, password_hash) VALUES (1, 'miguel', '$5$rounds=535000$QqC2//7Z8cCKnhhG$n2nCMHtTe6VL3Oq1vfx.sdBB7i9SRXYgyvITOj2hI/5'); -- passlib-sha256_crypt, password 'python'
INSERT INTO users (id, username, password_hash) VALUES (2, 'susan', 'pbkdf2:sha256:260000$FwgSECw10X7ASiB0$6a022a2b70c7f87371c7fd5e72640ad3fb94e853400b3d1deeb9355bdc1b8a97'); -- werkzeug-pbkdf2, password 'correct horse battery staple'
INSERT INTO users (id, username, password_hash) VALUES (5, 'Ödön', 'pbkdf2:sha256:260000$l59K9Eb7HNEAWAbw$1da795edae9469c549dcfe190048bfbf56c56bc11a20fb46d9e73d1a5d60aac3'); -- werkzeug-pbkdf2, password 'jelszó-Ünnep'
INSERT INTO users (id, username, password_hash) VALUES (9, 'olga', '$6$rounds=656000$hcJrpXPFFsmtT6Tx$zEslXZoqb3s9TJkWT0cWNpocsh72TSb45aNTGU/UQPzeZ5ZN.uwQOmVfadZaukHlfw6IpHAxygHk9OZhZ83yy1'); -- passlib-custom_app_context, password 'sekrit-42'
