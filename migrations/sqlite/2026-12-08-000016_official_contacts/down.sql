DROP TABLE official_contacts;
