/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Entra ID escrow over Microsoft Graph (escrow-and-protectors.md §2): OAuth sign-in
 * (device code, client credentials, or a given token) and the read-only
 * informationProtection/bitlocker/recoveryKeys endpoints. Graph offers no way to
 * write a recovery key: only the device itself backs up (BackupToAAD).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "escrow_int.h"

#define GRAPH_DEFAULT "https://graph.microsoft.com/v1.0"
#define LOGIN_DEFAULT "https://login.microsoftonline.com"
/* Microsoft Graph Command Line Tools: Microsoft's public client that Connect-MgGraph uses;
 * it may sign in with the device-code flow and ask for BitLockerKey.Read.All. */
#define CLIENT_DEFAULT "14d82eec-204b-4c2f-b7e8-296a70dab67e"
#define MAX_REPLY (16u << 20)
#define MAX_PAGES 1000

struct bd_graph {
	CURL *curl;
	char *graph_url, *login_url, *tenant, *client_id, *scope, *user_agent;
	char origin[512];                  /* scheme://host[:port] of graph_url: nextLinks must stay there */
	char *ca_file;
	struct bd_secret *token;
	struct bd_secret *client_secret;
	int timeout;
	int loopback;
};

/* ---- a reply buffer that is wiped whenever it moves or goes ---- */

struct buf {
	char *p;
	size_t len, cap;
	int overflow;
};

static void buf_free(struct buf *b)
{
	if (b->p) {
		bd_wipe(b->p, b->cap);
		munlock(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n + 1 > MAX_REPLY) {
		b->overflow = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = calloc(1, cap);
		if (!p)
			return 0;
		mlock(p, cap);
		if (b->len)
			memcpy(p, b->p, b->len);
		if (b->p) {
			bd_wipe(b->p, b->cap);
			munlock(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

/* ---- JSON ---- */

static json_object *parse_json(const char *text, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (!text || len > MAX_REPLY)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* A string member, or NULL. */
static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Wipe a secret string inside the parsed JSON (json-c keeps its own copy). */
static void jwipe(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		bd_wipe((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static void safe_copy(char *out, size_t outlen, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < outlen; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	out[i] = 0;
}

static const char *volume_type_name(json_object *o)
{
	static const char *names[] = { "operatingSystemVolume", "fixedDataVolume", "removableDataVolume",
				       "unknownFutureValue" };
	json_object *v;
	long n = -1;

	if (!json_object_object_get_ex(o, "volumeType", &v))
		return "";
	if (json_object_is_type(v, json_type_int))
		n = (long)json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		n = strtol(s, &end, 10);
		if (end == s || *end)
			return s;   /* already the enum's name */
	}
	return n >= 1 && n <= 4 ? names[n - 1] : "";
}

/* need_id: list items must carry their ID; a single key asked for by ID may omit it. */
static int parse_key_object(json_object *o, bd_escrow_list *l, int need_id)
{
	const char *id = jstr(o, "id"), *key = jstr(o, "key"), *created = jstr(o, "createdDateTime");
	const char *dev = jstr(o, "deviceId");
	struct bd_escrow_entry *e;
	uint8_t guid[16] = { 0 };

	if (!id && need_id)
		return bd_err(BD_ERR_CORRUPT, "Graph recovery key without an \"id\"");
	if (id && bd_guid_parse(id, guid))
		return bd_err(BD_ERR_CORRUPT, "Graph recovery key id '%.60s' is not a GUID", id);
	if (!(e = bd_escrow_list_add(l)))
		return BD_ERR_NOMEM;
	memcpy(e->recovery_guid, guid, 16);
	if (key) {
		e->has_password = 1;
		e->password_valid = bd_escrow_password_normalise(key, strlen(key), e->recovery_password,
								 sizeof(e->recovery_password));
		jwipe(o, "key");
	}
	safe_copy(e->created, sizeof(e->created), created);
	if (created && bd_escrow_time_parse(created, strlen(created), &e->created_unix))
		e->created_unix = 0;
	safe_copy(e->computer, sizeof(e->computer), dev);
	safe_copy(e->volume_type, sizeof(e->volume_type), volume_type_name(o));
	return 0;
}

int bd_graph_parse_keys(const char *json, size_t len, bd_escrow_list *l, char **next_link)
{
	json_object *root = parse_json(json, len), *v;
	int r = 0;

	if (next_link)
		*next_link = NULL;
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return bd_err(BD_ERR_CORRUPT, "Graph reply is not a JSON object");
	}
	if (json_object_object_get_ex(root, "value", &v)) {
		if (json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			for (size_t i = 0; i < n && !r; i++) {
				json_object *it = json_object_array_get_idx(v, i);
				if (it && json_object_is_type(it, json_type_object))
					r = parse_key_object(it, l, 1);
				else
					r = bd_err(BD_ERR_CORRUPT, "Graph \"value\" item %zu is not an object", i);
			}
		} else if (json_object_is_type(v, json_type_object)) {
			/* the documentation's sample wraps a single entity in "value" (§2.4) */
			r = parse_key_object(v, l, 0);
		} else {
			r = bd_err(BD_ERR_CORRUPT, "Graph \"value\" is neither a list nor an object");
		}
	} else {
		r = parse_key_object(root, l, 0);
	}
	const char *next = jstr(root, "@odata.nextLink");
	if (!r && next && next_link && !(*next_link = strdup(next)))
		r = bd_err(BD_ERR_NOMEM, "out of memory");
	json_object_put(root);
	return r;
}

int bd_graph_parse_token(const char *json, size_t len, struct bd_secret **token, char *err, size_t errlen)
{
	json_object *root = parse_json(json, len);
	const char *t, *e;
	int r;

	*token = NULL;
	if (errlen)
		err[0] = 0;
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return bd_err(BD_ERR_CORRUPT, "token endpoint reply is not a JSON object");
	}
	t = jstr(root, "access_token");
	e = jstr(root, "error");
	if (t && *t) {
		*token = bd_secret_dup(t, strlen(t) + 1);
		r = *token ? 0 : bd_err(BD_ERR_NOMEM, "out of memory");
	} else if (e) {
		safe_copy(err, errlen, e);
		const char *d = jstr(root, "error_description");
		r = bd_err(BD_ERR_AUTH, "sign-in failed: %.80s%s%.300s", e, d ? ": " : "", d ? d : "");
	} else {
		r = bd_err(BD_ERR_CORRUPT, "token endpoint reply has neither access_token nor error");
	}
	jwipe(root, "access_token");
	jwipe(root, "refresh_token");
	jwipe(root, "id_token");
	json_object_put(root);
	return r;
}

int bd_graph_parse_device_code(const char *json, size_t len, struct bd_device_code *dc)
{
	json_object *root = parse_json(json, len), *v;
	const char *dcode, *ucode, *uri, *msg;

	memset(dc, 0, sizeof(*dc));
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return bd_err(BD_ERR_CORRUPT, "device-code reply is not a JSON object");
	}
	dcode = jstr(root, "device_code");
	ucode = jstr(root, "user_code");
	uri = jstr(root, "verification_uri");
	if (!uri)
		uri = jstr(root, "verification_url");  /* older Azure AD v1 spelling */
	msg = jstr(root, "message");
	if (!dcode || !ucode || !uri || strlen(dcode) >= sizeof(dc->device_code)) {
		char e[256];
		bd_graph_parse_error(json, len, e, sizeof(e));
		json_object_put(root);
		return bd_err(BD_ERR_CORRUPT, "device-code reply lacks device_code, user_code or verification_uri%s%s",
			      e[0] ? ": " : "", e);
	}
	snprintf(dc->device_code, sizeof(dc->device_code), "%s", dcode);
	safe_copy(dc->user_code, sizeof(dc->user_code), ucode);
	safe_copy(dc->verification_uri, sizeof(dc->verification_uri), uri);
	safe_copy(dc->message, sizeof(dc->message), msg);
	dc->expires_in = 900;
	dc->interval = 5;
	if (json_object_object_get_ex(root, "expires_in", &v))
		dc->expires_in = json_object_get_int(v);
	if (json_object_object_get_ex(root, "interval", &v))
		dc->interval = json_object_get_int(v);
	if (dc->expires_in <= 0 || dc->expires_in > 3600)
		dc->expires_in = 900;
	if (dc->interval < 1 || dc->interval > 60)
		dc->interval = dc->interval < 1 ? 1 : 60;
	json_object_put(root);
	return 0;
}

void bd_graph_parse_error(const char *json, size_t len, char *out, size_t outlen)
{
	json_object *root = parse_json(json, len), *err;
	const char *code = NULL, *msg = NULL;

	if (outlen)
		out[0] = 0;
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return;
	}
	if (json_object_object_get_ex(root, "error", &err) && json_object_is_type(err, json_type_object)) {
		code = jstr(err, "code");        /* Graph: {"error": {"code", "message"}} */
		msg = jstr(err, "message");
	} else {
		code = jstr(root, "error");      /* OAuth: {"error", "error_description"} */
		msg = jstr(root, "error_description");
	}
	if (code || msg) {
		char c[128], m[384];
		safe_copy(c, sizeof(c), code ? code : "");
		safe_copy(m, sizeof(m), msg ? msg : "");
		snprintf(out, outlen, "%s%s%s", c, code && msg ? ": " : "", m);
	}
	json_object_put(root);
}

/* ---- HTTP ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static char *dup_trim(const char *s, const char *def)
{
	const char *v = s && *s ? s : def;
	char *d = strdup(v);
	size_t n;

	if (d && (n = strlen(d)) > 1 && d[n - 1] == '/')
		d[n - 1] = 0;
	return d;
}

/* The parts of an http(s) URL that decide where a request goes, parsed by curl itself. */
struct url_parts {
	char scheme[8];
	char host[256];
	long port;
};

static int url_parse(const char *url, struct url_parts *u)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
	int r = 0;

	memset(u, 0, sizeof(*u));
	if (!h)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		r = bd_err(BD_ERR_INVALID, "'%.200s' is not an http(s) URL with a host", url);
		goto out;
	}
	if (strcasecmp(scheme, "https") && strcasecmp(scheme, "http")) {
		r = bd_err(BD_ERR_INVALID, "'%.200s' is not an http(s) URL", url);
		goto out;
	}
	if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		r = bd_err(BD_ERR_INVALID, "'%.200s' holds a user name or password before the host: not accepted", url);
		goto out;
	}
	if (strlen(host) >= sizeof(u->host)) {
		r = bd_err(BD_ERR_INVALID, "'%.200s': host name too long", url);
		goto out;
	}
	snprintf(u->scheme, sizeof(u->scheme), "%s", strcasecmp(scheme, "https") ? "http" : "https");
	for (size_t i = 0; host[i]; i++)
		u->host[i] = (char)tolower((unsigned char)host[i]);
	u->port = strtol(port, NULL, 10);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(h);
	return r;
}

/* The loopback address: localhost itself, 127.0.0.0/8, ::1 (never a name that merely starts so). */
static int is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[64];
	size_t n = strlen(host);

	if (!strcmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof(h) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = 0;
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* scheme://host[:port] of url into origin (no default port: it also names OAuth scopes); Plain http only to the
 * loopback address unless insecure. */
static int url_origin(const char *url, char *origin, size_t len, int *loopback, int insecure)
{
	struct url_parts u;
	int r = url_parse(url, &u);

	if (r)
		return r;
	*loopback = is_loopback(u.host);
	if (!strcmp(u.scheme, "http") && !*loopback && !insecure)
		return bd_err(BD_ERR_INVALID, "'%.200s': tokens and keys must not travel unencrypted; use https:// "
			      "(plain http is only allowed to the loopback address, or with --insecure)", url);
	char port[16] = "";
	if (u.port != (strcmp(u.scheme, "https") ? 80 : 443))
		snprintf(port, sizeof(port), ":%ld", u.port);
	if ((size_t)snprintf(origin, len, "%s://%s%s", u.scheme, u.host, port) >= len)
		return bd_err(BD_ERR_INVALID, "'%.200s': URL too long", url);
	return 0;
}

int bd_graph_open(const struct bd_graph_opts *o, bd_graph **out)
{
	struct bd_graph *g;
	int r, lb;
	char lo[512];

	*out = NULL;
	if ((r = BD_SIZE_CHECK(o, struct bd_graph_opts, insecure, "BD_GRAPH_OPTS_INIT")))
		return r;
	pthread_once(&curl_once, curl_init);
	g = calloc(1, sizeof(*g));
	if (!g)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	g->graph_url = dup_trim(o->graph_url, GRAPH_DEFAULT);
	g->login_url = dup_trim(o->login_url, LOGIN_DEFAULT);
	g->tenant = dup_trim(o->tenant, "organizations");
	g->client_id = dup_trim(o->client_id, CLIENT_DEFAULT);
	g->user_agent = o->user_agent && *o->user_agent ? strdup(o->user_agent) : strdup("bdkit/" BDKIT_VERSION);
	g->timeout = o->timeout > 0 ? o->timeout : 60;
	g->curl = curl_easy_init();
	if (!g->graph_url || !g->login_url || !g->tenant || !g->client_id || !g->user_agent || !g->curl) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((r = url_origin(g->graph_url, g->origin, sizeof(g->origin), &g->loopback, o->insecure)) ||
	    (r = url_origin(g->login_url, lo, sizeof(lo), &lb, o->insecure)))
		goto fail;
	if (o->scope && *o->scope)
		g->scope = strdup(o->scope);
	if (o->ca_file && *o->ca_file) {
		if (access(o->ca_file, R_OK)) {
			r = bd_err(BD_ERR_INVALID, "cannot read the CA file %s", o->ca_file);
			goto fail;
		}
		g->ca_file = strdup(o->ca_file);
	}
	if (o->token && *o->token && !(g->token = bd_secret_dup(o->token, strlen(o->token) + 1))) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (o->client_secret && *o->client_secret &&
	    !(g->client_secret = bd_secret_dup(o->client_secret, strlen(o->client_secret) + 1))) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto fail;
	}
	*out = g;
	return 0;
fail:
	bd_graph_close(g);
	return r;
}

void bd_graph_close(bd_graph *g)
{
	if (!g)
		return;
	if (g->curl)
		curl_easy_cleanup(g->curl);
	free(g->graph_url);
	free(g->login_url);
	free(g->tenant);
	free(g->client_id);
	free(g->scope);
	free(g->user_agent);
	free(g->ca_file);
	bd_secret_free(g->token);
	bd_secret_free(g->client_secret);
	free(g);
}

/*
 * One request. form != NULL: POST application/x-www-form-urlencoded (may hold secrets:
 * the caller wipes it). auth: send the bearer token. Retries 429/503 up to twice,
 * honouring Retry-After (at most 30 s). Returns 0 with *status and the body, or BD_ERR_IO.
 */
static int http(struct bd_graph *g, const char *url, const char *form, int auth, long *status, struct buf *body)
{
	char err[CURL_ERROR_SIZE];
	struct curl_slist *h = NULL;
	struct bd_secret *ah = NULL;
	int r = 0;

	for (int attempt = 0;; attempt++) {
		CURLcode c;
		buf_free(body);
		curl_easy_reset(g->curl);
		err[0] = 0;
		h = curl_slist_append(NULL, "Accept: application/json");
		h = curl_slist_append(h, "ocp-client-name: bdkit");
		h = curl_slist_append(h, "ocp-client-version: " BDKIT_VERSION);
		if (auth && g->token) {
			size_t n = g->token->len + 32;
			if (!ah && !(ah = bd_secret_new(n))) {
				r = bd_err(BD_ERR_NOMEM, "out of memory");
				break;
			}
			snprintf((char *)ah->data, n, "Authorization: Bearer %s", (const char *)g->token->data);
			h = curl_slist_append(h, (const char *)ah->data);
		}
		curl_easy_setopt(g->curl, CURLOPT_URL, url);
		curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(g->curl, CURLOPT_USERAGENT, g->user_agent);
		curl_easy_setopt(g->curl, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(g->curl, CURLOPT_WRITEDATA, body);
		curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, err);
		curl_easy_setopt(g->curl, CURLOPT_TIMEOUT, (long)g->timeout);
		curl_easy_setopt(g->curl, CURLOPT_CONNECTTIMEOUT, (long)MIN(g->timeout, 30));
		curl_easy_setopt(g->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(g->curl, CURLOPT_FOLLOWLOCATION, 0L);  /* never carry the token elsewhere */
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(g->curl, CURLOPT_PROTOCOLS_STR, "https,http");
#endif
		if (g->loopback)
			curl_easy_setopt(g->curl, CURLOPT_PROXY, "");
		if (g->ca_file)
			curl_easy_setopt(g->curl, CURLOPT_CAINFO, g->ca_file);
		if (form) {
			curl_easy_setopt(g->curl, CURLOPT_POST, 1L);
			curl_easy_setopt(g->curl, CURLOPT_POSTFIELDS, form);
		}
		c = curl_easy_perform(g->curl);
		curl_slist_free_all(h);
		h = NULL;
		if (c != CURLE_OK) {
			if (body->overflow)
				r = bd_err(BD_ERR_CORRUPT, "%s: reply larger than %u bytes", url, MAX_REPLY);
			else
				r = bd_err(BD_ERR_IO, "cannot reach %s: %s%s%s", url, curl_easy_strerror(c),
					   err[0] ? ": " : "", err);
			break;
		}
		curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, status);
		if ((*status == 429 || *status == 503) && attempt < 2) {
			curl_off_t wait = 0;
			curl_easy_getinfo(g->curl, CURLINFO_RETRY_AFTER, &wait);
			wait = wait < 1 ? 1 : wait > 30 ? 30 : wait;
			bd_info("%s: HTTP %ld, retrying in %ld s", url, *status, (long)wait);
			sleep((unsigned)wait);
			continue;
		}
		break;
	}
	bd_secret_free(ah);
	return r;
}

/* Map a non-200 Graph reply to an error. what: "recovery key {…}". */
static int graph_status(long status, const struct buf *body, const char *what)
{
	char e[512];

	bd_graph_parse_error(body->p, body->len, e, sizeof(e));
	switch (status) {
	case 401:
		return bd_err(BD_ERR_AUTH, "Graph rejected the token for %s (HTTP 401%s%s): it is expired or "
			      "issued for another resource; sign in again", what, e[0] ? ": " : "", e);
	case 403:
		return bd_err(BD_ERR_DENIED, "Graph refused %s (HTTP 403%s%s): the token needs the permission "
			      "BitLockerKey.Read.All (BitLockerKey.ReadBasic.All gives no key), and a signed-in user "
			      "must own the device or hold a role such as Cloud Device Administrator, Helpdesk "
			      "Administrator, Intune Administrator, Security Reader or Global Reader", what,
			      e[0] ? ": " : "", e);
	case 404:
		return bd_err(BD_ERR_NOT_FOUND, "Entra ID has no %s (HTTP 404%s%s): the key was never backed up "
			      "to Entra ID, belongs to another tenant, or the device was deleted", what,
			      e[0] ? ": " : "", e);
	}
	if (status >= 500 || status == 429)
		return bd_err(BD_ERR_IO, "Graph failed on %s (HTTP %ld%s%s); try again later", what, status,
			      e[0] ? ": " : "", e);
	return bd_err(BD_ERR_IO, "Graph answered HTTP %ld for %s%s%s", status, what, e[0] ? ": " : "", e);
}

static char *scope_for(struct bd_graph *g, const char *perm)
{
	size_t n = strlen(g->origin) + strlen(perm) + 32;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/%s", g->origin, perm);
	return s;
}

/* Append "&name=escaped(value)" to a form in locked memory. */
static int form_add(struct bd_graph *g, struct bd_secret *f, const char *name, const char *value)
{
	char *esc = curl_easy_escape(g->curl, value, 0);
	size_t used = strlen((char *)f->data);
	int r = 0;

	if (!esc)
		return bd_err(BD_ERR_NOMEM, "out of memory");
	if (used + strlen(name) + strlen(esc) + 3 > f->len)
		r = bd_err(BD_ERR_INVALID, "sign-in request too long");
	else
		snprintf((char *)f->data + used, f->len - used, "%s%s=%s", used ? "&" : "", name, esc);
	bd_wipe(esc, strlen(esc));
	curl_free(esc);
	return r;
}

static int token_request(struct bd_graph *g, struct bd_secret *form, char *err, size_t errlen)
{
	char url[1024];
	struct buf body = { 0 };
	long status = 0;
	int r;

	snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token", g->login_url, g->tenant);
	r = http(g, url, (const char *)form->data, 0, &status, &body);
	if (!r) {
		struct bd_secret *t = NULL;
		r = bd_graph_parse_token(body.p, body.len, &t, err, errlen);
		if (!r) {
			bd_secret_free(g->token);
			g->token = t;
		} else if (r == BD_ERR_CORRUPT) {
			r = bd_err(BD_ERR_IO, "token endpoint %s answered HTTP %ld without a usable reply", url, status);
		}
	}
	buf_free(&body);
	return r;
}

int bd_graph_login_client_secret(bd_graph *g)
{
	struct bd_secret *f = bd_secret_new(8192);
	char *scope = g->scope ? strdup(g->scope) : scope_for(g, ".default");
	char err[64];
	int r;

	if (!f || !scope) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!g->client_secret) {
		r = bd_err(BD_ERR_INVALID, "no client secret given");
		goto out;
	}
	if ((r = form_add(g, f, "grant_type", "client_credentials")) || (r = form_add(g, f, "client_id", g->client_id)) ||
	    (r = form_add(g, f, "client_secret", (const char *)g->client_secret->data)) ||
	    (r = form_add(g, f, "scope", scope)))
		goto out;
	r = token_request(g, f, err, sizeof(err));
out:
	free(scope);
	bd_secret_free(f);
	return r;
}

int bd_graph_login_device_code(bd_graph *g, bd_graph_prompt_fn show, void *userdata)
{
	struct bd_secret *f = bd_secret_new(8192), *dcs = bd_secret_new(sizeof(struct bd_device_code));
	struct bd_device_code *dc = dcs ? (struct bd_device_code *)dcs->data : NULL;
	char *scope = NULL, url[1024], err[64];
	struct buf body = { 0 };
	long status = 0;
	int r;

	if (!f || !dc) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (g->scope) {
		scope = strdup(g->scope);
	} else {
		char *s = scope_for(g, "BitLockerKey.Read.All");
		if (s && (scope = malloc(strlen(s) + 16)))
			sprintf(scope, "%s offline_access", s);
		free(s);
	}
	if (!scope) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = form_add(g, f, "client_id", g->client_id)) || (r = form_add(g, f, "scope", scope)))
		goto out;
	snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/devicecode", g->login_url, g->tenant);
	if ((r = http(g, url, (const char *)f->data, 0, &status, &body)))
		goto out;
	if (status != 200) {
		char e[512];
		bd_graph_parse_error(body.p, body.len, e, sizeof(e));
		r = bd_err(status == 400 || status == 401 ? BD_ERR_AUTH : BD_ERR_IO,
			   "device-code sign-in refused by %s (HTTP %ld%s%s); check --tenant and --client-id (the "
			   "app registration must allow public client flows)", url, status, e[0] ? ": " : "", e);
		goto out;
	}
	if ((r = bd_graph_parse_device_code(body.p, body.len, dc)))
		goto out;
	if (show)
		show(dc->verification_uri, dc->user_code, dc->message, userdata);
	f->data[0] = 0;
	if ((r = form_add(g, f, "grant_type", "urn:ietf:params:oauth:grant-type:device_code")) ||
	    (r = form_add(g, f, "client_id", g->client_id)) || (r = form_add(g, f, "device_code", dc->device_code)))
		goto out;
	time_t deadline = time(NULL) + dc->expires_in;
	int interval = dc->interval;
	for (;;) {
		sleep((unsigned)interval);
		r = token_request(g, f, err, sizeof(err));
		if (!r)
			break;
		if (r != BD_ERR_AUTH)
			goto out;
		if (!strcmp(err, "authorization_pending")) {
			/* keep polling */
		} else if (!strcmp(err, "slow_down")) {
			interval += 5;
		} else if (!strcmp(err, "expired_token") || !strcmp(err, "code_expired")) {
			r = bd_err(BD_ERR_INTERRUPTED, "the sign-in code expired before it was used; run again");
			goto out;
		} else {
			/* access_denied, authorization_declined, bad client: the message says which */
			goto out;
		}
		if (time(NULL) + interval > deadline) {
			r = bd_err(BD_ERR_INTERRUPTED, "the sign-in code expired (%d s) before it was used; run again",
				   dc->expires_in);
			goto out;
		}
	}
	bd_info("signed in to Entra ID");
out:
	buf_free(&body);
	free(scope);
	bd_secret_free(f);
	bd_secret_free(dcs);
	return r;
}

static int need_token(struct bd_graph *g)
{
	if (!g->token)
		return bd_err(BD_ERR_INVALID, "not signed in to Entra ID: give a token or sign in first");
	return 0;
}

int bd_graph_get_key(bd_graph *g, const uint8_t guid[16], bd_escrow_list **out)
{
	char id[37], url[1024], what[80];
	struct buf body = { 0 };
	bd_escrow_list *l = NULL;
	long status = 0;
	int r;

	*out = NULL;
	if ((r = need_token(g)))
		return r;
	bd_guid_format(guid, id);
	snprintf(url, sizeof(url), "%s/informationProtection/bitlocker/recoveryKeys/%s?$select=key", g->graph_url, id);
	for (char *c = id; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	snprintf(what, sizeof(what), "recovery key {%s}", id);
	if ((r = http(g, url, NULL, 1, &status, &body)))
		goto out;
	if (status != 200) {
		r = graph_status(status, &body, what);
		goto out;
	}
	if (!(l = bd_escrow_list_new())) {
		r = BD_ERR_NOMEM;
		goto out;
	}
	if ((r = bd_graph_parse_keys(body.p, body.len, l, NULL)))
		goto out;
	/* the $select=key reply may omit the other properties: the ID asked for is the key's */
	for (size_t i = 0; i < bd_escrow_list_count(l); i++) {
		struct bd_escrow_entry *e = (struct bd_escrow_entry *)bd_escrow_list_get(l, i);
		if (bd_is_zero(e->recovery_guid, 16))
			memcpy(e->recovery_guid, guid, 16);
	}
	*out = l;
	l = NULL;
out:
	bd_escrow_list_free(l);
	buf_free(&body);
	return r;
}

/* Does url go where graph_url goes (same scheme, host and port, as curl parses them)? */
static int same_origin(const struct bd_graph *g, const char *url)
{
	char o[sizeof(g->origin)];
	int lb;

	return !url_origin(url, o, sizeof(o), &lb, 1) && !strcmp(o, g->origin);
}

int bd_graph_find(bd_graph *g, const char *device_id, const struct bd_escrow_key_id *id, int with_keys,
		  bd_escrow_list **out)
{
	bd_escrow_list *all = NULL, *res = NULL;
	char *url = NULL, *next = NULL;
	struct buf body = { 0 };
	long status = 0;
	int r, pages = 0;

	*out = NULL;
	if ((r = need_token(g)))
		return r;
	if (!(all = bd_escrow_list_new()) || !(res = bd_escrow_list_new())) {
		r = BD_ERR_NOMEM;
		goto out;
	}
	if (device_id && *device_id) {
		char flt[256];
		snprintf(flt, sizeof(flt), "deviceId eq '%s'", device_id);
		char *esc = curl_easy_escape(g->curl, flt, 0);
		if (esc && asprintf(&url, "%s/informationProtection/bitlocker/recoveryKeys?$filter=%s", g->graph_url,
				    esc) < 0)
			url = NULL;
		curl_free(esc);
	} else if (asprintf(&url, "%s/informationProtection/bitlocker/recoveryKeys", g->graph_url) < 0) {
		url = NULL;
	}
	if (!url) {
		r = bd_err(BD_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (url) {
		if (++pages > MAX_PAGES) {
			r = bd_err(BD_ERR_CORRUPT, "Graph returned more than %d pages; narrow the query with a device ID",
				   MAX_PAGES);
			goto out;
		}
		if ((r = http(g, url, NULL, 1, &status, &body)))
			goto out;
		if (status != 200) {
			r = graph_status(status, &body, device_id ? "the recovery keys of that device" :
					 "the list of recovery keys");
			goto out;
		}
		if ((r = bd_graph_parse_keys(body.p, body.len, all, &next)))
			goto out;
		free(url);
		url = next;
		next = NULL;
		if (url && !same_origin(g, url)) {
			r = bd_err(BD_ERR_CORRUPT, "Graph's next page link leaves %s; not following it with the token",
				   g->origin);
			goto out;
		}
	}
	for (size_t i = 0; i < bd_escrow_list_count(all); i++) {
		const struct bd_escrow_entry *e = bd_escrow_list_get(all, i);
		struct bd_escrow_entry *slot;
		if (id && !bd_escrow_key_id_match(id, e->recovery_guid))
			continue;
		if (with_keys) {
			bd_escrow_list *one = NULL;
			if ((r = bd_graph_get_key(g, e->recovery_guid, &one)))
				goto out;
			for (size_t k = 0; k < bd_escrow_list_count(one); k++) {
				const struct bd_escrow_entry *x = bd_escrow_list_get(one, k);
				if (!(slot = bd_escrow_list_add(res))) {
					bd_escrow_list_free(one);
					r = BD_ERR_NOMEM;
					goto out;
				}
				*slot = *e;    /* list metadata, plus the key */
				slot->has_password = x->has_password;
				slot->password_valid = x->password_valid;
				memcpy(slot->recovery_password, x->recovery_password, sizeof(slot->recovery_password));
			}
			bd_escrow_list_free(one);
		} else {
			if (!(slot = bd_escrow_list_add(res))) {
				r = BD_ERR_NOMEM;
				goto out;
			}
			*slot = *e;
		}
	}
	bd_escrow_list_sort(res);
	*out = res;
	res = NULL;
out:
	free(url);
	free(next);
	buf_free(&body);
	bd_escrow_list_free(all);
	bd_escrow_list_free(res);
	return r;
}
