CREATE SEQUENCE "public"."stream_position" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "id" SET DEFAULT nextval('stream_position');--> statement-breakpoint
ALTER TABLE "node_samples" ALTER COLUMN "id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "node_samples" ALTER COLUMN "id" SET DEFAULT nextval('stream_position');--> statement-breakpoint
-- Start past every id already taken, then retire the per-table sequences.
SELECT setval('stream_position', greatest((SELECT coalesce(max(id), 0) FROM "events"), (SELECT coalesce(max(id), 0) FROM "node_samples"), 1));--> statement-breakpoint
DROP SEQUENCE IF EXISTS "events_id_seq";--> statement-breakpoint
DROP SEQUENCE IF EXISTS "node_samples_id_seq";
