#!/usr/bin/env bash
# A complete tus upload with curl: create the upload, send the first half of the file, ask the
# server for the offset with HEAD, send the rest from that offset, check the final offset, and
# print the id of the asset the server made from the upload.
#
#   TOKEN=$(npm run --silent token -- --sub alice) FILE=photo.jpg bash docs/examples/curl-upload.sh
#
# TUS_URL  the tus endpoint (default http://127.0.0.1:1080/files)
# TOKEN    a bearer token (required)
# FILE     the file to upload (required)
set -euo pipefail

TUS_URL="${TUS_URL:-http://127.0.0.1:1080/files}"
TOKEN="${TOKEN:?set TOKEN to a bearer token, e.g. TOKEN=\$(npm run --silent token -- --sub alice)}"
FILE="${FILE:?set FILE to the path of the file to upload}"

# GNU stat first, then BSD/macOS stat
size=$(stat -c %s "$FILE" 2>/dev/null || stat -f %z "$FILE")
half=$((size / 2))
filename_b64=$(printf '%s' "${FILE##*/}" | base64 | tr -d '\n')
# scheme://host:port, to resolve a relative Location (a server with RELATIVE_URLS=1 answers one)
origin=$(printf '%s\n' "$TUS_URL" | awk -F/ '{ print $1 "//" $3 }')

# header NAME: the value of response header NAME, read from headers on stdin
header() {
  tr -d '\r' | awk -v name="$1" 'tolower($1) == tolower(name ":") { print $2 }' | tail -n 1
}

# tus CURL_ARGS...: one tus request; prints the response headers, and on an HTTP error prints the
# response body (which says what was wrong) to stderr and fails
body=$(mktemp)
trap 'rm -f "$body"' EXIT
tus() {
  if ! curl --silent --show-error --fail-with-body --dump-header - --output "$body" \
    -H "Authorization: Bearer $TOKEN" -H 'Tus-Resumable: 1.0.0' "$@"; then
    cat "$body" >&2
    return 1
  fi
}

# 1. create: Upload-Length and the file name as base64 metadata; the answer is 201 with a Location
location=$(tus -X POST "$TUS_URL" \
  -H "Upload-Length: $size" \
  -H "Upload-Metadata: filename $filename_b64" | header Location)
case "$location" in
  http://* | https://*) upload_url=$location ;;
  *) upload_url="$origin$location" ;;
esac
echo "upload_url=$upload_url"

# 2. first half, from offset 0
head -c "$half" "$FILE" | tus -X PATCH "$upload_url" \
  -H 'Upload-Offset: 0' \
  -H 'Content-Type: application/offset+octet-stream' \
  --data-binary @- >/dev/null

# 3. resume: ask the server how much it has, and send the rest from there
offset=$(tus --head "$upload_url" | header Upload-Offset)
echo "offset_after_first_patch=$offset"

patch_headers=$(tail -c +"$((offset + 1))" "$FILE" | tus -X PATCH "$upload_url" \
  -H "Upload-Offset: $offset" \
  -H 'Content-Type: application/offset+octet-stream' \
  --data-binary @-)

# 4. the upload is complete when the offset equals the length
final_offset=$(tus --head "$upload_url" | header Upload-Offset)
echo "final_offset=$final_offset"
if [ "$final_offset" != "$size" ]; then
  echo "upload incomplete: offset $final_offset of $size" >&2
  exit 1
fi

# 5. the last PATCH carries the id of the finished asset
asset_id=$(printf '%s\n' "$patch_headers" | header Upload-Asset-Id)
echo "asset_id=$asset_id"
