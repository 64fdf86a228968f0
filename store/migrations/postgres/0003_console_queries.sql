-- The console's queries read what they show, not every document the node
-- ever kept (store/traffic.go, store/sql.go List):
-- the traffic charts read the documents updated in a window (by
-- documents_updated) and those still pending;
CREATE INDEX documents_pending ON documents (seq) WHERE state IN ('accepted', 'sent');
-- a search by the beginning of a document or tracking ID ("where is my
-- certificate?"), in any case, is lower(id) LIKE lower('prefix%'), which
-- a b-tree serves only on that expression with the pattern operator class.
CREATE INDEX documents_doc_id_prefix ON documents (lower(doc_id) text_pattern_ops);
CREATE INDEX documents_tracking_id_prefix ON documents (lower(tracking_id) text_pattern_ops);
