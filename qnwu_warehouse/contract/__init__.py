"""The submission contract: what a unit's report must carry (rules), how each format is read
(readers), the reference data it is checked against (reference), and the files it is written
as (files: the blank XLSX template, and filled reports for the sample-data generator)."""
