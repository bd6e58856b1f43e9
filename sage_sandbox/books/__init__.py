"""The sandbox's books: master data, documents and their postings, kept consistent as time moves."""
