-- 0005: sensitive-data findings (docs/sensitive-data.md). Findings name the
-- field a value was found in and carry a masked preview and a keyed
-- HMAC-SHA256 fingerprint instead of the value; endpoints list the
-- sensitive types they carry as "location:type".
{{addColumn "findings" "field" (printf "String%s" (codec "ZSTD(1)"))}}
{{addColumn "findings" "masked_sample" (printf "String%s" (codec "ZSTD(1)"))}}
{{addColumn "findings" "fingerprint" (printf "String%s" (codec "ZSTD(1)"))}}
{{addColumn "endpoints" "pii_types" (printf "Array(%s)" (lc "String"))}}
